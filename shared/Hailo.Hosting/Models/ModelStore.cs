using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Hailo.Hosting.Models;

/// <summary>
/// Finds model files (the service's own models directory first, then read-only search paths) and pulls
/// missing ones over HTTPS. A file lands under its final name only whole: it is downloaded to NAME.partial,
/// checked, flushed to disk and renamed. A file with a pinned sha256 is verified, and a partial download of it is
/// resumed (if the resumed file does not match, it is fetched again from the start); a file the catalog marks
/// unverified is reported as such, taken as it comes and always downloaded from the start.
/// </summary>
public sealed class ModelStore
{
    /// <summary>Environment variable naming a mirror: every catalog file is fetched from MIRROR/&lt;file name&gt; instead of its publisher.</summary>
    public const string MirrorVariable = "HAILO_MODELS_MIRROR";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _pulls = new(StringComparer.OrdinalIgnoreCase);

    public ModelStore(string modelsDir, IReadOnlyList<string> searchPaths, IReadOnlyList<ModelManifest> catalog, string? mirror = null)
    {
        CheckCatalog(catalog);
        ModelsDir = modelsDir;
        SearchPaths = searchPaths;
        Catalog = catalog;
        Mirror = mirror ?? (Environment.GetEnvironmentVariable(MirrorVariable) is { Length: > 0 } m ? m : null);
    }

    public string ModelsDir { get; }
    public IReadOnlyList<string> SearchPaths { get; }
    public IReadOnlyList<ModelManifest> Catalog { get; }
    /// <summary>Base address every download comes from instead of the catalog's (null: the catalog's own).</summary>
    public string? Mirror { get; }

    /// <summary>
    /// Refuses a catalog with a file that neither pins a sha256 nor is marked unverified (or both), or a malformed
    /// hash: a download that is not checked must say so.
    /// </summary>
    public static void CheckCatalog(IEnumerable<ModelManifest> catalog)
    {
        var problems = new List<string>();
        foreach (var m in catalog)
        {
            foreach (var f in m.Files)
            {
                if (f.Sha256 is null && !f.Unverified) problems.Add($"{m.Name}/{f.Name}: no pinned sha256 (pin one, or mark the file Unverified)");
                if (f.Sha256 is not null && f.Unverified) problems.Add($"{m.Name}/{f.Name}: a pinned sha256 and marked Unverified");
                if (f.Sha256 is not null && !IsSha256(f.Sha256)) problems.Add($"{m.Name}/{f.Name}: '{f.Sha256}' is not a sha256 (64 lower-case hex digits)");
                if (f.Size is <= 0) problems.Add($"{m.Name}/{f.Name}: size must be positive");
            }
            if (m.Archive is { } a && !IsSha256(a.Sha256)) problems.Add($"{m.Name}: the archive's sha256 '{a.Sha256}' is not 64 lower-case hex digits");
        }
        if (problems.Count > 0) throw new InvalidOperationException("model catalog: " + string.Join("; ", problems));
    }

    private static bool IsSha256(string s) => s.Length == 64 && s.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    public ModelManifest? Get(string name) => Catalog.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Looks for every file of the model; size must match where the manifest knows it.</summary>
    public ModelLocation Locate(ModelManifest manifest)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var f in manifest.Files)
        {
            var path = Candidates(manifest, f).FirstOrDefault(p => IsUsable(p, f));
            if (path is null) missing.Add(f.Name);
            else found[f.Name] = path;
        }
        return new ModelLocation(manifest, found, missing);
    }

    private IEnumerable<string> Candidates(ModelManifest m, ModelFile f)
    {
        yield return Path.Combine(ModelsDir, m.Name, f.Name);
        yield return Path.Combine(ModelsDir, f.Name);
        foreach (var dir in SearchPaths)
        {
            yield return Path.Combine(dir, m.Name, f.Name);
            yield return Path.Combine(dir, f.Name);
        }
    }

    private static bool IsUsable(string path, ModelFile f)
    {
        var info = new FileInfo(path);
        return info.Exists && (f.Size is null || info.Length == f.Size);
    }

    /// <summary>Where a catalog address is fetched from: itself, or the file of the same name on the mirror.</summary>
    public string SourceOf(string url) =>
        Mirror is null ? url : Mirror.TrimEnd('/') + "/" + Path.GetFileName(new Uri(url).AbsolutePath);

    /// <summary>Downloads whatever of the model is missing into the models directory and verifies it (one pull per model at a time).</summary>
    public async Task<ModelLocation> PullAsync(ModelManifest manifest, HttpClient http, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        var gate = _pulls.GetOrAdd(manifest.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await PullLockedAsync(manifest, http, progress, ct).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ModelLocation> PullLockedAsync(ModelManifest manifest, HttpClient http, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        var location = Locate(manifest);
        if (location.Complete)
        {
            progress?.Report(new PullProgress(manifest.Name, "already present", 0, 0));
            return location;
        }
        var target = Path.Combine(ModelsDir, manifest.Name);
        Directory.CreateDirectory(target);
        DurableFile.SweepTemporaries(target);
        var wanted = manifest.Files.Where(f => location.Missing.Contains(f.Name)).ToList();

        var fromArchive = wanted.Where(f => f.ArchiveMember is not null).ToList();
        if (fromArchive.Count > 0)
        {
            var archive = manifest.Archive ?? throw new InvalidOperationException($"model {manifest.Name} names archive members but no archive");
            var downloads = Path.Combine(ModelsDir, ".downloads");
            var tgz = Path.Combine(downloads, archive.Sha256[..16] + ".tar.gz");
            await DownloadAsync(http, SourceOf(archive.Url), tgz, archive.Sha256, archive.Size, manifest.Name, progress, ct).ConfigureAwait(false);
            await ExtractAsync(tgz, fromArchive, target, manifest.Name, progress, ct).ConfigureAwait(false);
            File.Delete(tgz);
        }
        foreach (var f in wanted.Where(f => f.ArchiveMember is null))
        {
            if (f.Url is null) throw new InvalidOperationException($"model {manifest.Name}: file {f.Name} has no download address; copy it into {target}");
            await DownloadAsync(http, SourceOf(f.Url), Path.Combine(target, f.Name), f.Sha256, f.Size, manifest.Name, progress, ct).ConfigureAwait(false);
        }
        var result = Locate(manifest);
        if (!result.Complete) throw new InvalidOperationException($"model {manifest.Name}: still missing {string.Join(", ", result.Missing)} after the pull");
        progress?.Report(new PullProgress(manifest.Name, "success", 0, 0));
        return result;
    }

    /// <summary>
    /// Fetches <paramref name="url"/> into <paramref name="destination"/>: to destination.partial (resumed only when
    /// a pinned sha256 can check the result), then checked, flushed and renamed. With a pinned hash a resumed file
    /// that does not match is fetched once more from the start.
    /// </summary>
    private static async Task DownloadAsync(HttpClient http, string url, string destination, string? sha256, long? size,
        string model, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var file = Path.GetFileName(destination);
        var partial = destination + ".partial";
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (have > 0 && sha256 is null)
        {
            // Nothing could tell a resumed file from a spliced one (the publisher's file may have changed meanwhile).
            progress?.Report(new PullProgress(model, $"unverified: {file} has no pinned sha256, so its partial download is discarded and fetched again", 0, 0));
            File.Delete(partial);
            have = 0;
        }
        if (size is not null && have > size) { File.Delete(partial); have = 0; }

        while (true)
        {
            var resumed = have > 0;
            var total = await FetchAsync(http, url, partial, have, size, model, file, progress, ct).ConfigureAwait(false);
            var got = new FileInfo(partial).Length;
            string? problem = null;
            if (size is not null && got != size) problem = $"expected {size} bytes, got {got}";
            else if (sha256 is not null)
            {
                progress?.Report(new PullProgress(model, "verifying sha256 digest", total, total));
                var actual = await HashFileAsync(partial, ct).ConfigureAwait(false);
                if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase)) problem = $"sha256 {actual} does not match the expected {sha256}";
            }
            if (problem is null) break;
            File.Delete(partial);
            if (!resumed) throw new InvalidDataException($"{url}: {problem}");
            progress?.Report(new PullProgress(model, $"the resumed {file} does not check out ({problem}); downloading it again from the start", 0, 0));
            have = 0;
        }
        if (sha256 is null)
            progress?.Report(new PullProgress(model, $"unverified: the catalog pins no sha256 for {file}; it is kept as downloaded, unchecked", 0, 0));
        DurableFile.Commit(partial, destination);
    }

    /// <summary>One GET into <paramref name="partial"/> from byte <paramref name="have"/>; returns the expected total.</summary>
    private static async Task<long> FetchAsync(HttpClient http, string url, string partial, long have, long? size,
        string model, string file, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(have, null);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (have > 0 && response.StatusCode == System.Net.HttpStatusCode.RequestedRangeNotSatisfiable) return size ?? have; // the checks decide
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"GET {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        // A server that ignores the range, or answers another one, sends the file from the start.
        if (have > 0 && (response.StatusCode != System.Net.HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != have)) have = 0;

        var total = size ?? (response.Content.Headers.ContentLength + have) ?? 0;
        var status = $"pulling {file}";
        await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using var output = new FileStream(partial, have > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        long done = have, lastBytes = have;
        var lastTime = System.Diagnostics.Stopwatch.GetTimestamp();
        progress?.Report(new PullProgress(model, status, done, total));
        int n;
        while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            done += n;
            // Progress as the bytes arrive: every MiB, and at least every quarter second on a slow line.
            if (done - lastBytes >= 1 << 20 || System.Diagnostics.Stopwatch.GetElapsedTime(lastTime) >= TimeSpan.FromMilliseconds(250))
            {
                lastBytes = done;
                lastTime = System.Diagnostics.Stopwatch.GetTimestamp();
                progress?.Report(new PullProgress(model, status, done, total));
            }
        }
        if (done != lastBytes) progress?.Report(new PullProgress(model, status, done, total));
        output.Flush(flushToDisk: true);
        return total;
    }

    private static async Task ExtractAsync(string tgz, IReadOnlyList<ModelFile> files, string target, string model,
        IProgress<PullProgress>? progress, CancellationToken ct)
    {
        var byMember = files.ToDictionary(f => f.ArchiveMember!, StringComparer.Ordinal);
        await using var gz = new GZipStream(File.OpenRead(tgz), CompressionMode.Decompress);
        await using var tar = new TarReader(gz);
        while (await tar.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
        {
            if (entry.DataStream is null || !byMember.Remove(entry.Name, out var f)) continue;
            progress?.Report(new PullProgress(model, $"extracting {f.Name}", 0, 0));
            var dest = Path.Combine(target, f.Name);
            var tmp = DurableFile.TempName(dest);
            try
            {
                await using (var output = File.Create(tmp))
                {
                    await entry.DataStream.CopyToAsync(output, ct).ConfigureAwait(false);
                    output.Flush(flushToDisk: true);
                }
                if (f.Sha256 is not null && !string.Equals(await HashFileAsync(tmp, ct).ConfigureAwait(false), f.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"{f.ArchiveMember}: sha256 does not match the manifest");
                if (f.Sha256 is null) progress?.Report(new PullProgress(model, $"unverified: the catalog pins no sha256 for {f.Name}; it is kept as extracted, unchecked", 0, 0));
                DurableFile.Commit(tmp, dest);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }
        if (byMember.Count > 0) throw new InvalidDataException($"archive lacks {string.Join(", ", byMember.Keys)}");
    }

    public static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        await using var s = File.OpenRead(path);
        var hash = await SHA256.HashDataAsync(s, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }
}
