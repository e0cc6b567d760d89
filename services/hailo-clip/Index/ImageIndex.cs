using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace HailoClip.Index;

/// <summary>One image in the index: its id, the model that embedded it, the embedding and its metadata (JSON text).</summary>
internal sealed record IndexItem(string Id, string Model, float[] Embedding, string? Metadata, DateTime AddedAt);

/// <summary>One search hit.</summary>
internal sealed record IndexHit(IndexItem Item, float Score);

/// <summary>
/// The persistent image index: a SQLite file in WAL mode with synchronous=FULL, so an add is on disk once it is
/// answered, and a process killed mid-write leaves the last committed state (a batch is one transaction: all of it
/// or none). Format (version 1): table <c>meta(key, value)</c> with <c>format_version</c> = 1; table
/// <c>items(id TEXT PRIMARY KEY, model TEXT, dim INTEGER, embedding BLOB (dim little-endian float32, L2-normalised),
/// metadata TEXT (a JSON object or NULL), added_at TEXT (ISO 8601 UTC))</c>. Every item's id, model and embedding
/// are also held in memory (about 2.2 KB for a 512-wide embedding); a search is a dot product with each item of the
/// querying model, and only the hits' metadata (up to 16 KiB each) is read back from the file, so a full index of
/// large metadata costs its embeddings in RAM, not its metadata.
/// </summary>
internal sealed class ImageIndex : IDisposable
{
    public const int FormatVersion = 1;

    private readonly SqliteConnection _db;
    private readonly Dictionary<string, IndexItem> _items = new(StringComparer.Ordinal);
    private readonly ReaderWriterLockSlim _lock = new();
    /// <summary>Serialises the connection among readers (the write lock already excludes them from writers).</summary>
    private readonly object _read = new();
    private readonly Dictionary<string, string> _models = new(StringComparer.Ordinal);

    public ImageIndex(string path, int maxItems)
    {
        Path = path;
        MaxItems = maxItems;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            _db.Open();
            Exec("PRAGMA journal_mode=WAL;");
            Exec("PRAGMA synchronous=FULL;");
            Exec("PRAGMA busy_timeout=5000;");
            Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
            Exec("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL, embedding BLOB NOT NULL, metadata TEXT, added_at TEXT NOT NULL);");
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT value FROM meta WHERE key = 'format_version';";
                var version = cmd.ExecuteScalar() as string;
                if (version is null) Exec($"INSERT INTO meta (key, value) VALUES ('format_version', '{FormatVersion}');");
                else if (version != FormatVersion.ToString(CultureInfo.InvariantCulture))
                    throw new InvalidDataException($"{path}: index format {version}, this version reads format {FormatVersion}");
            }
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT id, model, dim, embedding, NULL, added_at FROM items;";
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    var blob = (byte[])r.GetValue(3);
                    var dim = r.GetInt32(2);
                    if (blob.Length != dim * 4) throw new InvalidDataException($"{path}: item '{r.GetString(0)}' has {blob.Length} embedding bytes for {dim} dimensions");
                    var emb = MemoryMarshal.Cast<byte, float>(blob).ToArray();
                    if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian");
                    _items[r.GetString(0)] = new IndexItem(r.GetString(0), Model(r.GetString(1)), emb, null,
                        DateTime.Parse(r.GetString(5), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
                }
            }
        }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    public string Path { get; }
    public int MaxItems { get; }

    public int Count
    {
        get { _lock.EnterReadLock(); try { return _items.Count; } finally { _lock.ExitReadLock(); } }
    }

    /// <summary>Items per model.</summary>
    public IReadOnlyDictionary<string, int> CountByModel()
    {
        _lock.EnterReadLock();
        try { return _items.Values.GroupBy(i => i.Model).ToDictionary(g => g.Key, g => g.Count()); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>One string per model name, however many items share it.</summary>
    private string Model(string name)
    {
        if (_models.TryGetValue(name, out var shared)) return shared;
        _models[name] = name;
        return name;
    }

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Adds or replaces items in one transaction; false (nothing written) when the index would exceed its bound.</summary>
    public bool Upsert(IReadOnlyList<IndexItem> items)
    {
        _lock.EnterWriteLock();
        try
        {
            var added = items.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count(id => !_items.ContainsKey(id));
            if (_items.Count + added > MaxItems) return false;
            using (var tx = _db.BeginTransaction())
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO items (id, model, dim, embedding, metadata, added_at) VALUES ($id, $model, $dim, $emb, $meta, $at) " +
                                  "ON CONFLICT(id) DO UPDATE SET model = excluded.model, dim = excluded.dim, embedding = excluded.embedding, metadata = excluded.metadata, added_at = excluded.added_at;";
                var pId = cmd.Parameters.Add("$id", SqliteType.Text);
                var pModel = cmd.Parameters.Add("$model", SqliteType.Text);
                var pDim = cmd.Parameters.Add("$dim", SqliteType.Integer);
                var pEmb = cmd.Parameters.Add("$emb", SqliteType.Blob);
                var pMeta = cmd.Parameters.Add("$meta", SqliteType.Text);
                var pAt = cmd.Parameters.Add("$at", SqliteType.Text);
                foreach (var item in items)
                {
                    pId.Value = item.Id;
                    pModel.Value = item.Model;
                    pDim.Value = item.Embedding.Length;
                    pEmb.Value = MemoryMarshal.AsBytes(item.Embedding.AsSpan()).ToArray();
                    pMeta.Value = (object?)item.Metadata ?? DBNull.Value;
                    pAt.Value = item.AddedAt.ToString("O", CultureInfo.InvariantCulture);
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
            }
            foreach (var item in items) _items[item.Id] = item with { Model = Model(item.Model), Metadata = null };
            return true;
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>Removes an item; false when there is none with that id.</summary>
    public bool Delete(string id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_items.ContainsKey(id)) return false;
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM items WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
            _items.Remove(id);
            return true;
        }
        finally { _lock.ExitWriteLock(); }
    }

    public bool Contains(string id)
    {
        _lock.EnterReadLock();
        try { return _items.ContainsKey(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The item with its metadata (read from the file), or null.</summary>
    public IndexItem? Get(string id)
    {
        _lock.EnterReadLock();
        try { return _items.TryGetValue(id, out var item) ? item with { Metadata = ReadMetadata(id) } : null; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>An item's metadata from the file; call under the read or write lock.</summary>
    private string? ReadMetadata(string id)
    {
        lock (_read)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT metadata FROM items WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>
    /// The best <paramref name="topK"/> items of <paramref name="model"/> scoring at least <paramref name="minScore"/>,
    /// best first (ties by id), with their metadata read from the file. Only the best k are kept while scanning.
    /// </summary>
    public IReadOnlyList<IndexHit> Search(string model, ReadOnlySpan<float> query, int topK, float minScore)
    {
        // The root is the worst of the best k so far: a lower score, or the same score and the later id.
        var best = new PriorityQueue<IndexItem, (float Score, string Id)>(topK + 1, WorstFirst.Instance);
        _lock.EnterReadLock();
        try
        {
            foreach (var item in _items.Values)
            {
                if (item.Model != model || item.Embedding.Length != query.Length) continue;
                var score = Pipeline.ClipPipeline.Dot(item.Embedding, query);
                if (score < minScore) continue;
                if (best.Count < topK) best.Enqueue(item, (score, item.Id));
                else if (best.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare((score, item.Id), worst) > 0)
                    best.EnqueueDequeue(item, (score, item.Id));
            }
            var hits = new List<IndexHit>(best.Count);
            while (best.TryDequeue(out var item, out var key)) hits.Add(new IndexHit(item, key.Score));
            hits.Reverse();
            for (var i = 0; i < hits.Count; i++)
                if (ReadMetadata(hits[i].Item.Id) is { } metadata) hits[i] = hits[i] with { Item = hits[i].Item with { Metadata = metadata } };
            return hits;
        }
        finally { _lock.ExitReadLock(); }
    }

    private sealed class WorstFirst : IComparer<(float Score, string Id)>
    {
        public static readonly WorstFirst Instance = new();
        public int Compare((float Score, string Id) a, (float Score, string Id) b) =>
            a.Score != b.Score ? a.Score.CompareTo(b.Score) : string.CompareOrdinal(b.Id, a.Id);
    }

    public void Dispose()
    {
        _db.Dispose();
        _lock.Dispose();
    }
}
