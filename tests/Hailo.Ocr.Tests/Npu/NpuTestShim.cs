using System.Diagnostics;
using System.Runtime.InteropServices;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;

namespace Hailo.Ocr.Tests.Npu;

/// <summary>
/// Points this test process at the fake libhailo_shim (building native-shim if its library is missing) and
/// turns the fixture JSONs plus test-generated output tensors into loadable fake "HEFs".
/// </summary>
internal static class NpuTestShim
{
    private static readonly Lazy<string> s_stateDir = new(Prepare, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string FixtureDir => Path.Combine(Repo.Root, "tests", "Hailo.Ocr.Tests", "Npu", "fixtures");

    public static NpuRuntime Runtime
    {
        get
        {
            _ = s_stateDir.Value;
            return NpuRuntime.Load();
        }
    }

    /// <summary>
    /// Copies a fixture JSON into a fresh directory and writes its canned output (the fake reads "data_file"
    /// relative to the JSON), so every test owns its model files.
    /// </summary>
    public static string Model(string fixture, string dataFile, byte[] data)
    {
        var dir = Path.Combine(s_stateDir.Value, "model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var json = Path.Combine(dir, fixture);
        File.Copy(Path.Combine(FixtureDir, fixture), json);
        File.WriteAllBytes(Path.Combine(dir, dataFile), data);
        return json;
    }

    private static string Prepare()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("HAILO_SHIM_PATH")))
        {
            var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64" : "x64";
            var path = Path.Combine(Repo.Root, "build", "native-shim", arch, "libhailo_shim.so");
            if (!File.Exists(path)) Build(arch, path);
            Environment.SetEnvironmentVariable("HAILO_SHIM_PATH", path);
        }
        var state = Directory.CreateTempSubdirectory("hailo-ocr-npu-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        // getenv() in the shim does not see Environment.SetEnvironmentVariable on Unix.
        if (setenv("HS_FAKE_STATE_DIR", state, 1) != 0 || setenv("HS_BACKEND", "fake", 1) != 0)
            throw new InvalidOperationException("setenv failed");
        return state;
    }

    [DllImport("libc")]
    private static extern int setenv(string name, string value, int overwrite);

    private static void Build(string arch, string expected)
    {
        var lockPath = Path.Combine(Repo.Root, "build", "native-shim.build.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        var deadline = DateTime.UtcNow.AddMinutes(5);
        FileStream? gate = null;
        while (gate is null)
        {
            try { gate = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { Thread.Sleep(200); }
        }
        using (gate)
        {
            if (File.Exists(expected)) return;
            var psi = new ProcessStartInfo("bash", [Path.Combine(Repo.Root, "native-shim", "build.sh"), arch])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(expected))
                throw new InvalidOperationException($"native-shim/build.sh {arch} failed ({p.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
        }
    }
}
