using Hailo.Hosting.Http;

namespace HailoClip.Index;

/// <summary>
/// Opens the image index on first use (a service whose index file cannot be opened still embeds and classifies; the
/// index routes answer 503 saying why, and the next request tries again).
/// </summary>
internal sealed class IndexHolder(IndexSection config) : IDisposable
{
    private readonly Lock _lock = new();
    private ImageIndex? _index;

    public ImageIndex Get()
    {
        if (Volatile.Read(ref _index) is { } ready) return ready;
        lock (_lock)
        {
            if (_index is not null) return _index;
            try
            {
                SQLitePCL.Batteries_V2.Init();
                _index = new ImageIndex(config.Path, config.MaxItems);
                return _index;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
            {
                throw ApiException.Unavailable("index_unavailable", $"the image index {config.Path} cannot be opened: {e.Message}", 5);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock) _index?.Dispose();
    }
}
