using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Hailo.Hosting.Models;

/// <summary>
/// Finds model files (the service's own models directory first, then read-only search paths) and pulls
/// missing ones over HTTPS with resume and sha256 checks. Nothing is ever replaced by an unverified file.
/// </summary>
public sealed class ModelStore(string modelsDir, IReadOnlyList<string> searchPaths, IReadOnlyList<ModelManifest> catalog)
{
    public string ModelsDir { get; } = modelsDir;
    public IReadOnlyList<string> SearchPaths { get; } = searchPaths;
    public IReadOnlyList<ModelManifest> Catalog { get; } = catalog;

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

    /// <summary>Downloads whatever of the model is missing into the models directory and verifies it.</summary>
    public async Task<ModelLocation> PullAsync(ModelManifest manifest, HttpClient http, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        var location = Locate(manifest);
        if (location.Complete)
        {
            progress?.Report(new PullProgress(manifest.Name, "already present", 0, 0));
            return location;
        }
        var target = Path.Combine(ModelsDir, manifest.Name);
        Directory.CreateDirectory(target);
        var wanted = manifest.Files.Where(f => location.Missing.Contains(f.Name)).ToList();

        var fromArchive = wanted.Where(f => f.ArchiveMember is not null).ToList();
        if (fromArchive.Count > 0)
        {
            var archive = manifest.Archive ?? throw new InvalidOperationException($"model {manifest.Name} names archive members but no archive");
            var tgz = Path.Combine(ModelsDir, ".downloads", archive.Sha256[..16] + ".tar.gz");
            await DownloadAsync(http, archive.Url, tgz, archive.Sha256, archive.Size, manifest.Name, progress, ct).ConfigureAwait(false);
            await ExtractAsync(tgz, fromArchive, target, manifest.Name, progress, ct).ConfigureAwait(false);
            File.Delete(tgz);
        }
        foreach (var f in wanted.Where(f => f.ArchiveMember is null))
        {
            if (f.Url is null) throw new InvalidOperationException($"model {manifest.Name}: file {f.Name} has no download address; copy it into {target}");
            await DownloadAsync(http, f.Url, Path.Combine(target, f.Name), f.Sha256, f.Size, manifest.Name, progress, ct).ConfigureAwait(false);
        }
        var result = Locate(manifest);
        if (!result.Complete) throw new InvalidOperationException($"model {manifest.Name}: still missing {string.Join(", ", result.Missing)} after the pull");
        progress?.Report(new PullProgress(manifest.Name, "success", 0, 0));
        return result;
    }

    private static async Task DownloadAsync(HttpClient http, string url, string destination, string? sha256, long? size,
        string model, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var partial = destination + ".partial";
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (size is not null && have > size) { File.Delete(partial); have = 0; }

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(have, null);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (have > 0 && response.StatusCode != System.Net.HttpStatusCode.PartialContent) have = 0; // server ignored the range
        if (!response.IsSuccessStatusCode && !(have > 0 && response.StatusCode == System.Net.HttpStatusCode.RequestedRangeNotSatisfiable))
            throw new HttpRequestException($"GET {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");

        var total = size ?? (response.Content.Headers.ContentLength + have) ?? 0;
        if (response.IsSuccessStatusCode)
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var file = new FileStream(partial, have > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            var buffer = new byte[1 << 16];
            long done = have, lastReport = 0;
            progress?.Report(new PullProgress(model, $"pulling {Path.GetFileName(url)}", done, total));
            int n;
            while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                done += n;
                if (done - lastReport >= 1 << 20)
                {
                    lastReport = done;
                    progress?.Report(new PullProgress(model, $"pulling {Path.GetFileName(url)}", done, total));
                }
            }
        }
        progress?.Report(new PullProgress(model, "verifying sha256 digest", total, total));
        if (size is not null && new FileInfo(partial).Length != size)
        {
            var got = new FileInfo(partial).Length;
            File.Delete(partial);
            throw new InvalidDataException($"{url}: expected {size} bytes, got {got}");
        }
        if (sha256 is not null)
        {
            var actual = await HashFileAsync(partial, ct).ConfigureAwait(false);
            if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(partial);
                throw new InvalidDataException($"{url}: sha256 {actual} does not match the expected {sha256}");
            }
        }
        File.Move(partial, destination, overwrite: true);
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
            var tmp = dest + ".partial";
            await using (var output = File.Create(tmp))
                await entry.DataStream.CopyToAsync(output, ct).ConfigureAwait(false);
            if (f.Sha256 is not null && !string.Equals(await HashFileAsync(tmp, ct).ConfigureAwait(false), f.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(tmp);
                throw new InvalidDataException($"{f.ArchiveMember}: sha256 does not match the manifest");
            }
            File.Move(tmp, dest, overwrite: true);
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
