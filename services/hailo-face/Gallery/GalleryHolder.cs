using Hailo.Hosting;
using Hailo.Hosting.Http;
using Microsoft.Extensions.Logging;

namespace HailoFace.Gallery;

/// <summary>
/// The gallery, opened at start and, when that fails (directory missing or not writable, file corrupt or of a newer
/// schema, disk full), again on each later request that needs it. Until it opens the service runs degraded: /health
/// and the systemd status say why and what to do, the gallery routes (recognize, database/*) answer 503
/// <c>gallery_unavailable</c> with Retry-After, and detect, embed and verify, which need no gallery, keep working. A
/// system service that exits instead would be restarted in a loop by systemd and take detection down with it, for a
/// fault (permissions, a full disk) that the operator fixes while it runs.
/// </summary>
public sealed class GalleryHolder(Func<FaceGallery> open, string path, ServiceState state, ILogger<FaceGallery> log) : IDisposable
{
    /// <summary>The name the gallery's state has in /health's list (next to the models).</summary>
    public const string StateName = "gallery";

    private readonly Lock _lock = new();
    private FaceGallery? _gallery;
    private string? _problem;

    public string Path { get; } = path;

    /// <summary>Why the gallery is not open (null once it is).</summary>
    public string? Problem => Volatile.Read(ref _gallery) is null ? _problem : null;

    /// <summary>Opens the gallery if it is not open; false (and the service degraded, saying why) when it cannot be.</summary>
    public bool TryOpen()
    {
        if (Volatile.Read(ref _gallery) is not null) return true;
        lock (_lock)
        {
            if (_gallery is not null) return true;
            try
            {
                var gallery = open();
                if (gallery.Backup is { } backup) log.LogWarning("gallery schema upgraded; the previous file was copied to {Backup}", backup);
                Volatile.Write(ref _gallery, gallery);
                if (_problem is not null)
                {
                    log.LogInformation("gallery {Path} opened", Path);
                    state.SetModel(new ModelStatus(StateName, ModelState.Ready));
                }
                _problem = null;
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException
                                          or Microsoft.Data.Sqlite.SqliteException)
            {
                var first = _problem is null;
                _problem = $"the gallery {Path} cannot be opened: {e.Message}";
                if (first) log.LogError("{Problem}; the gallery routes answer 503 until it opens", _problem);
                state.SetModel(new ModelStatus(StateName, ModelState.Failed, _problem,
                    $"make {System.IO.Path.GetDirectoryName(Path)} writable by the service's user (or set gallery.path); it is retried on the next gallery request"));
                return false;
            }
        }
    }

    /// <summary>The open gallery; 503 <c>gallery_unavailable</c> with the reason when it still cannot be opened.</summary>
    public FaceGallery Get() =>
        Volatile.Read(ref _gallery) ?? (TryOpen() ? _gallery! : throw ApiException.Unavailable("gallery_unavailable", _problem!, 10));

    public void Dispose()
    {
        lock (_lock) _gallery?.Dispose();
    }
}
