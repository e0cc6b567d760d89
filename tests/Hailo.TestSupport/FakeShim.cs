using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Hailo.Runtime.Npu;

namespace Hailo.TestSupport;

/// <summary>
/// Prepares a test process for the shim's fake backend once: builds native-shim if its library is missing,
/// points HAILO_SHIM_PATH at it, forces the fake backend and gives the run its own HS_FAKE_STATE_DIR.
/// </summary>
public static partial class FakeShim
{
    private static readonly Lazy<string> s_library = new(Prepare, LazyThreadSafetyMode.ExecutionAndPublication);
    private static string s_stateDir = "";

    /// <summary>Absolute path of the libhailo_shim.so under test.</summary>
    public static string LibraryPath => s_library.Value;

    /// <summary>This run's lock directory for the fake backend (also a scratch place for test files).</summary>
    public static string StateDir
    {
        get
        {
            _ = s_library.Value;
            return s_stateDir;
        }
    }

    /// <summary>The loaded runtime (the fake backend).</summary>
    public static NpuRuntime Runtime
    {
        get
        {
            _ = s_library.Value;
            return NpuRuntime.Load();
        }
    }

    /// <summary>A fake model shipped with the shim's own tests.</summary>
    public static string ShimFixture(string name) => Path.Combine(Repo.Root, "native-shim", "tests", "fixtures", name);

    /// <summary>Sets faults for the duration of a using block and clears them afterwards.</summary>
    public static IDisposable Faults(string faults)
    {
        SetFaults(faults);
        return new ClearFaults();
    }

    private sealed class ClearFaults : IDisposable
    {
        public void Dispose() => SetFaults(null);
    }

    /// <summary>
    /// Sets the fake backend's injected faults ("device_lost,timeout"; null or "" clears) through the shim's
    /// test-only export hs_fake_set_fault (native-shim/include/hailo_shim_fake.h), which the binding does not
    /// bind. Fails like any shim call: <see cref="HailoException"/> INVALID_ARGUMENT with the shim's message for an
    /// unknown name, NOT_SUPPORTED on the real backend.
    /// </summary>
    public static unsafe void SetFaults(string? faults)
    {
        var (setFault, lastError) = s_fakeExports.Value;
        var text = Encoding.UTF8.GetBytes((faults ?? "") + "\0");
        int status;
        fixed (byte* p = text) status = ((delegate* unmanaged<byte*, int>)setFault)(p);
        if (status == 0) return;
        // hs_last_error is per thread and valid until this thread's next hs_ call: read it before naming the status.
        var message = Marshal.PtrToStringUTF8((nint)((delegate* unmanaged<byte*>)lastError)()) ?? "";
        throw new HailoException(status, NpuRuntime.StatusName(status), message);
    }

    private static readonly Lazy<(nint SetFault, nint LastError)> s_fakeExports = new(() =>
    {
        // The library the binding loaded (HAILO_SHIM_PATH): loading the same file again returns the same handle.
        var handle = NativeLibrary.Load(Runtime.LibraryPath);
        return (NativeLibrary.GetExport(handle, "hs_fake_set_fault"), NativeLibrary.GetExport(handle, "hs_last_error"));
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Copies a fake-model JSON into a fresh directory (as <paramref name="targetName"/>, default its own name) and
    /// writes its canned output next to it (the fake reads "data_file" relative to the JSON).
    /// </summary>
    public static string Model(string fixtureJson, string dataFile, byte[] data, string? directory = null, string? targetName = null)
    {
        var dir = directory ?? Path.Combine(StateDir, "model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var json = Path.Combine(dir, targetName ?? Path.GetFileName(fixtureJson));
        File.Copy(fixtureJson, json, overwrite: true);
        File.WriteAllBytes(Path.Combine(dir, dataFile), data);
        return json;
    }

    private static string Prepare()
    {
        var path = Environment.GetEnvironmentVariable("HAILO_SHIM_PATH");
        if (string.IsNullOrEmpty(path))
        {
            var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64" : "x64";
            path = Path.Combine(Repo.Root, "build", "native-shim", arch, "libhailo_shim.so");
            if (!File.Exists(path)) Build(arch, path);
            Environment.SetEnvironmentVariable("HAILO_SHIM_PATH", path);
        }
        s_stateDir = Directory.CreateTempSubdirectory("hailo-fake-shim-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(s_stateDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        // The shim reads these with getenv(), which does not see Environment.SetEnvironmentVariable on Unix:
        // set them in the native environment too (children get them from the managed one).
        SetBoth("HS_FAKE_STATE_DIR", s_stateDir);
        SetBoth("HS_BACKEND", "fake");
        return path;
    }

    private static void SetBoth(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (setenv(name, value, 1) != 0) throw new InvalidOperationException("setenv " + name + " failed");
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    private static void Build(string arch, string expected)
    {
        // Test assemblies may run in parallel processes; one build at a time.
        var lockPath = Path.Combine(Repo.Root, "build", "native-shim.build.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        using var gate = AcquireLock(lockPath);
        if (File.Exists(expected)) return;
        var psi = new ProcessStartInfo("bash", [Path.Combine(Repo.Root, "native-shim", "build.sh"), arch])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(expected))
            throw new InvalidOperationException($"native-shim/build.sh {arch} failed ({p.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
