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
/// metadata TEXT (a JSON object or NULL), added_at TEXT (ISO 8601 UTC))</c>. Every item is also held in memory; a
/// search is a dot product with each item of the querying model.
/// </summary>
internal sealed class ImageIndex : IDisposable
{
    public const int FormatVersion = 1;

    private readonly SqliteConnection _db;
    private readonly Dictionary<string, IndexItem> _items = new(StringComparer.Ordinal);
    private readonly ReaderWriterLockSlim _lock = new();

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
                cmd.CommandText = "SELECT id, model, dim, embedding, metadata, added_at FROM items;";
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    var blob = (byte[])r.GetValue(3);
                    var dim = r.GetInt32(2);
                    if (blob.Length != dim * 4) throw new InvalidDataException($"{path}: item '{r.GetString(0)}' has {blob.Length} embedding bytes for {dim} dimensions");
                    var emb = MemoryMarshal.Cast<byte, float>(blob).ToArray();
                    if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian");
                    _items[r.GetString(0)] = new IndexItem(r.GetString(0), r.GetString(1), emb, r.IsDBNull(4) ? null : r.GetString(4),
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
            foreach (var item in items) _items[item.Id] = item;
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

    public IndexItem? Get(string id)
    {
        _lock.EnterReadLock();
        try { return _items.GetValueOrDefault(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The best <paramref name="topK"/> items of <paramref name="model"/> scoring at least <paramref name="minScore"/>, best first (ties by id).</summary>
    public IReadOnlyList<IndexHit> Search(string model, ReadOnlySpan<float> query, int topK, float minScore)
    {
        var hits = new List<IndexHit>();
        _lock.EnterReadLock();
        try
        {
            foreach (var item in _items.Values)
            {
                if (item.Model != model || item.Embedding.Length != query.Length) continue;
                var score = Pipeline.ClipPipeline.Dot(item.Embedding, query);
                if (score >= minScore) hits.Add(new IndexHit(item, score));
            }
        }
        finally { _lock.ExitReadLock(); }
        hits.Sort((a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(a.Item.Id, b.Item.Id));
        return hits.Count > topK ? hits.GetRange(0, topK) : hits;
    }

    public void Dispose()
    {
        _db.Dispose();
        _lock.Dispose();
    }
}
