using Hailo.Core;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using Hailo.Hosting.Models;
using HailoOllama.Gguf;

namespace HailoOllama.Engine;

/// <summary>
/// A model this service can run, by Ollama name: its file (GGUF for the CPU, HEF for the NPU) plus what
/// /api/create added (system prompt, template, parameters). Catalog models found on disk need no record;
/// created and copied models are records in models.dir/manifests/.
/// </summary>
public sealed record LocalModel : IModelFile
{
    public required string Name { get; init; }
    public required Backend Backend { get; init; }
    /// <summary>The model file; a relative path in a record is relative to models.dir.</summary>
    public required string Path { get; init; }
    public string? Template { get; init; }
    public string? System { get; init; }
    public Dictionary<string, JsonElement>? Parameters { get; init; }
    public DateTime ModifiedAt { get; init; }
    /// <summary>sha256 of the model file (hex), when known.</summary>
    public string? Digest { get; init; }
    public string? ParentModel { get; init; }
    /// <summary>What /api/tags shows as the family instead of the GGUF's architecture (the stand-in `make models` writes says so).</summary>
    public string? Family { get; init; }
    /// <summary>True for a record written by /api/create, /api/copy or /api/pull (it can be deleted).</summary>
    public bool Stored { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LocalModel))]
internal sealed partial class RegistryJson : JsonSerializerContext;

/// <summary>
/// The models on this machine: catalog files the store finds, and records in models.dir/manifests. Nothing stored is
/// ever half-written: blobs and records are written to a temporary name, flushed and renamed (a blob before the record
/// that names it), a record is deleted before the blob it used, and a record whose file is missing is not listed. The
/// temporary files of an interrupted upload or write are removed when the registry opens.
/// </summary>
public sealed class ModelRegistry
{
    private readonly ConcurrentDictionary<string, (long Size, DateTime Mtime, string Hash)> _hashes = new();
    private readonly ConcurrentDictionary<string, (long Size, DateTime Mtime, GgufInfo? Info)> _gguf = new();
    private readonly Lock _write = new();

    public ModelRegistry(ModelStore store, Backend backend)
    {
        Store = store;
        Backend = backend;
        // What a killed process left: temporary records and upload files (".*.tmp"; "*.partial" of older versions).
        DurableFile.SweepTemporaries(ManifestDir, "*.json.tmp");
        DurableFile.SweepTemporaries(BlobDir, "sha256-*.partial");
    }

    public ModelStore Store { get; }
    public Backend Backend { get; }
    public string ManifestDir => System.IO.Path.Combine(Store.ModelsDir, "manifests");
    public string BlobDir => System.IO.Path.Combine(Store.ModelsDir, "blobs");

    private string RecordPath(string name) => System.IO.Path.Combine(ManifestDir, name.Replace('/', '%').Replace(':', '@') + ".json");

    public IReadOnlyList<LocalModel> List()
    {
        var byName = new Dictionary<string, LocalModel>(StringComparer.Ordinal);
        foreach (var m in OllamaModels.Catalog.Where(m => m.Backend == Backend))
        {
            var loc = Store.Locate(m);
            if (!loc.Complete) continue;
            var path = loc.Paths.Values.First();
            var name = OllamaModels.OllamaName(m);
            byName[name] = new LocalModel
            {
                Name = name, Backend = Backend, Path = path, ModifiedAt = File.GetLastWriteTimeUtc(path), Digest = m.Files[0].Sha256,
            };
        }
        if (Directory.Exists(ManifestDir))
        {
            foreach (var f in Directory.EnumerateFiles(ManifestDir, "*.json"))
            {
                try
                {
                    var m = JsonSerializer.Deserialize(File.ReadAllText(f), RegistryJson.Default.LocalModel);
                    if (m is null || m.Backend != Backend) continue;
                    var path = System.IO.Path.Combine(Store.ModelsDir, m.Path); // a rooted path stays as it is
                    if (File.Exists(path)) byName[m.Name] = m with { Path = path, Stored = true };
                }
                catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
                {
                    // A damaged record is skipped; /api/tags must still answer.
                }
            }
        }
        return byName.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    public LocalModel? Find(string name) => List().FirstOrDefault(m => m.Name == name);

    public void Save(LocalModel model)
    {
        lock (_write)
        {
            // Under the lock a delete also takes: a record is never written for a file deleted meanwhile.
            if (!File.Exists(System.IO.Path.Combine(Store.ModelsDir, model.Path)))
                throw new FileNotFoundException($"the file of {model.Name} is no longer there (deleted meanwhile?)", model.Path);
            Directory.CreateDirectory(ManifestDir);
            DurableFile.WriteAllText(RecordPath(model.Name), JsonSerializer.Serialize(model with { Stored = false }, RegistryJson.Default.LocalModel));
        }
    }

    /// <summary>Deletes a model's record, and its blob when no other record uses it. Catalog files are removed too.</summary>
    public bool Delete(string name)
    {
        lock (_write)
        {
            var m = Find(name);
            if (m is null) return false;
            // The record goes first (and is gone on disk) so no record is ever left naming a deleted file.
            DurableFile.Delete(RecordPath(name));
            var stillUsed = List().Any(o => o.Path == m.Path);
            if (!stillUsed && (m.Path.StartsWith(Store.ModelsDir + "/", StringComparison.Ordinal)) && File.Exists(m.Path)) DurableFile.Delete(m.Path);
            return true;
        }
    }

    public string BlobPath(string hex) => System.IO.Path.Combine(BlobDir, "sha256-" + hex);

    /// <summary>sha256 of a model file, computed once per file version and remembered.</summary>
    public async Task<string> DigestAsync(LocalModel m, CancellationToken ct)
    {
        if (m.Digest is { } d) return d;
        var info = new FileInfo(m.Path);
        if (_hashes.TryGetValue(m.Path, out var h) && h.Size == info.Length && h.Mtime == info.LastWriteTimeUtc) return h.Hash;
        var hash = await ModelStore.HashFileAsync(m.Path, ct).ConfigureAwait(false);
        _hashes[m.Path] = (info.Length, info.LastWriteTimeUtc, hash);
        return hash;
    }

    /// <summary>A digest for listings without hashing big files on the request path: known, or cached, or of the file's identity.</summary>
    public string QuickDigest(LocalModel m)
    {
        if (m.Digest is { } d) return d;
        var info = new FileInfo(m.Path);
        if (_hashes.TryGetValue(m.Path, out var h) && h.Size == info.Length && h.Mtime == info.LastWriteTimeUtc) return h.Hash;
        if (m.Path.StartsWith(BlobDir, StringComparison.Ordinal)) return System.IO.Path.GetFileName(m.Path)[7..];
        _ = Task.Run(() => DigestAsync(m, CancellationToken.None)); // known on a later listing
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{m.Path}\n{info.Length}\n{info.LastWriteTimeUtc.Ticks}")));
    }

    /// <summary>The GGUF header of a CPU model (null for HEFs or unreadable files).</summary>
    public GgufInfo? Gguf(LocalModel m)
    {
        if (m.Backend != Backend.Cpu) return null;
        var info = new FileInfo(m.Path);
        if (_gguf.TryGetValue(m.Path, out var g) && g.Size == info.Length && g.Mtime == info.LastWriteTimeUtc) return g.Info;
        GgufInfo? parsed;
        try { parsed = GgufInfo.Read(m.Path); }
        catch (Exception e) when (e is InvalidDataException or IOException or EndOfStreamException or UnauthorizedAccessException) { parsed = null; }
        _gguf[m.Path] = (info.Length, info.LastWriteTimeUtc, parsed);
        return parsed;
    }

    /// <summary>The chat template this service renders for the model, or null when its family is unknown.</summary>
    public ChatTemplate? Template(LocalModel m)
    {
        if (m.Backend == Backend.Npu)
            return m.Name.StartsWith("llama", StringComparison.Ordinal) ? ChatTemplate.Llama31() : ChatTemplate.ChatMl();
        var g = Gguf(m);
        return g is null ? null : ChatTemplate.Recognise(g.ChatTemplate, g.Architecture);
    }

    /// <summary>The model's architecture: GGUF's general.architecture, for a HEF from its name.</summary>
    public string Architecture(LocalModel m) => Gguf(m)?.Architecture ?? (m.Name.StartsWith("llama", StringComparison.Ordinal) ? "llama" : "qwen2");

    /// <summary>The family /api/tags and /api/show report: the record's, else the architecture.</summary>
    public string Family(LocalModel m) => m.Family ?? Architecture(m);
}
