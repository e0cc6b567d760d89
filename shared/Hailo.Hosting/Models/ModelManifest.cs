using Hailo.Core;

namespace Hailo.Hosting.Models;

/// <summary>
/// A named model: the files a pipeline needs, their checksums and where to download them. A file comes
/// either from its own URL or out of the manifest's archive (e.g. an npm tarball).
/// </summary>
public sealed record ModelManifest(
    string Name,
    Backend Backend,
    string Description,
    string License,
    IReadOnlyList<ModelFile> Files,
    ModelArchive? Archive = null)
{
    /// <summary>True when every file's sha256 is pinned, so a download is checked (an archive member by its own hash).</summary>
    public bool Verified => Files.All(f => f.Sha256 is not null);
}

/// <summary>
/// One file of a model. A file either has a pinned sha256 (and its size where known) or says it has none with
/// <paramref name="Unverified"/>: its publisher gives no checksum, so a download of it is taken as it comes, reported
/// as unverified and never resumed. <see cref="ModelStore"/> refuses a catalog that does neither.
/// </summary>
public sealed record ModelFile(string Name, string? Sha256, long? Size, string? Url = null, string? ArchiveMember = null, bool Unverified = false);

/// <summary>A tar.gz that holds several files of a model.</summary>
public sealed record ModelArchive(string Url, string Sha256, long Size);

/// <summary>Where every file of a model was found, or which ones are missing.</summary>
public sealed record ModelLocation(ModelManifest Manifest, IReadOnlyDictionary<string, string> Paths, IReadOnlyList<string> Missing)
{
    public bool Complete => Missing.Count == 0;
    public string this[string fileName] => Paths[fileName];
}

/// <summary>Progress of a pull, reported to the caller (the CLI prints it; an API can stream it).</summary>
public readonly record struct PullProgress(string Model, string Status, long Completed, long Total);
