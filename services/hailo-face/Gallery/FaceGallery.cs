using System.Globalization;
using Hailo.Face;
using Microsoft.Data.Sqlite;

namespace HailoFace.Gallery;

/// <summary>One identity as listed: name, how many embeddings it holds, when it was created and last changed.</summary>
public sealed record IdentityInfo(string Name, int EmbeddingCount, string CreatedAt, string UpdatedAt);

/// <summary>One stored embedding in memory, for matching.</summary>
internal sealed record StoredEmbedding(long Id, float[] Vector);

/// <summary>
/// The embeddings of one dimension as one matrix of unit-length rows (row i belongs to <c>Owners[i]</c>, for i below
/// <see cref="Count"/>), so that matching is one vectorised dot product per row. The arrays may be longer than the
/// rows in use: an add appends a row in place and publishes a new matrix with one more row.
/// </summary>
internal sealed class EmbeddingMatrix(int dimension, float[] rows, string[] owners, int count)
{
    public int Dimension { get; } = dimension;
    public float[] Rows { get; } = rows;
    public string[] Owners { get; } = owners;
    public int Count { get; } = count;

    /// <summary>
    /// This matrix with <paramref name="row"/> (made unit length) appended. While the arrays have room they are
    /// shared: a reader of this matrix never looks past its <see cref="Count"/>, and the one writer (under the
    /// gallery's write lock) only ever appends to the newest matrix. Full, they are copied to twice the size.
    /// </summary>
    public EmbeddingMatrix Append(string owner, ReadOnlySpan<float> row)
    {
        float[] rows = Rows;
        string[] owners = Owners;
        if (Count == owners.Length)
        {
            var capacity = Math.Max(16, 2 * Count);
            rows = new float[capacity * Dimension];
            Rows.AsSpan(0, Count * Dimension).CopyTo(rows);
            owners = new string[capacity];
            Owners.AsSpan(0, Count).CopyTo(owners);
        }
        var target = rows.AsSpan(Count * Dimension, Dimension);
        row.CopyTo(target);
        if (!Embeddings.Normalize(target)) target.Clear(); // a zero or non-finite vector matches nothing (cosine 0)
        owners[Count] = owner;
        return new EmbeddingMatrix(Dimension, rows, owners, Count + 1);
    }
}

public sealed record GalleryMatch(string Name, float Similarity);

/// <summary>An identity of an export/import document: its embeddings as base64 little-endian float32.</summary>
public sealed record ExportedIdentity(string Name, string CreatedAt, IReadOnlyList<string> Embeddings);

/// <summary>
/// The face gallery: identities (unique names) holding several embeddings each, in SQLite. Every write is one
/// transaction in WAL mode with synchronous=FULL, so an add the caller was told about survives a crash or power
/// loss and a half-done add never shows; writes are serialised in-process. Matching runs over an in-memory copy
/// of the embeddings of the current model, rebuilt from the database at start and kept in step by every write.
/// Deleted rows are overwritten (secure_delete) and the WAL is checkpointed and truncated after a remove, so a
/// removed person's embeddings leave no copy in the files. Only embeddings are stored, plus the aligned 112×112
/// face crop when <c>storeFaceImages</c> is on.
/// </summary>
public sealed class FaceGallery : IDisposable
{
    /// <summary>The schema this build writes. Version 1: identities and embeddings; 2: the model of each embedding and the optional face crop.</summary>
    public const int SchemaVersion = 2;

    private static readonly string[][] Migrations =
    [
        [
            "CREATE TABLE identities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
            "CREATE TABLE embeddings (id INTEGER PRIMARY KEY, identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE, vector BLOB NOT NULL, created_at TEXT NOT NULL)",
            "CREATE INDEX embeddings_identity ON embeddings(identity_id)",
        ],
        [
            "ALTER TABLE embeddings ADD COLUMN model TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE embeddings ADD COLUMN face_image BLOB",
        ],
    ];

    private readonly SqliteConnection _db;
    private readonly Lock _write = new();
    private readonly string _model;
    private volatile Dictionary<string, StoredEmbedding[]> _snapshot = new(StringComparer.Ordinal);
    private volatile Dictionary<int, EmbeddingMatrix> _matrices = [];

    public string Path { get; }
    /// <summary>The backup written before this open migrated an older schema, if it did.</summary>
    public string? Backup { get; }
    public int MaxEmbeddingsPerIdentity { get; }
    /// <summary>
    /// Embeddings the gallery holds at most, every model's counted (each is a row on disk and, for the loaded model,
    /// about 2 KB of RAM): an add or import beyond it is refused with 409 gallery_full and changes nothing.
    /// </summary>
    public int MaxEmbeddings { get; }
    public bool StoreFaceImages { get; }
    public bool VacuumOnRemove { get; }

    /// <param name="model">The embedding model's name: only its embeddings are matched (another model's vectors are not comparable).</param>
    public FaceGallery(string path, string model, int maxEmbeddingsPerIdentity = 10, bool storeFaceImages = false, bool vacuumOnRemove = false, bool backupOnUpgrade = true,
        int maxEmbeddings = 100_000)
    {
        Path = path;
        _model = model;
        MaxEmbeddingsPerIdentity = maxEmbeddingsPerIdentity;
        MaxEmbeddings = maxEmbeddings;
        StoreFaceImages = storeFaceImages;
        VacuumOnRemove = vacuumOnRemove;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=WAL");
        Exec("PRAGMA synchronous=FULL");
        Exec("PRAGMA foreign_keys=ON");
        Exec("PRAGMA secure_delete=ON");
        Exec("PRAGMA busy_timeout=5000");
        var version = Convert.ToInt32(Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new InvalidDataException($"{path} has gallery schema {version}, newer than this build's {SchemaVersion}: upgrade hailo-face or restore a backup");
        if (version > 0 && version < SchemaVersion && backupOnUpgrade)
        {
            Backup = $"{path}.v{version}-{DateTime.UtcNow:yyyyMMddTHHmmssZ}.bak";
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "VACUUM INTO $p";
            cmd.Parameters.AddWithValue("$p", Backup);
            cmd.ExecuteNonQuery();
        }
        for (var v = version; v < SchemaVersion; v++)
        {
            using var tx = _db.BeginTransaction();
            foreach (var sql in Migrations[v]) Exec(sql, tx);
            Exec($"PRAGMA user_version={v + 1}", tx);
            tx.Commit();
        }
        Reload();
    }

    private void Exec(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Rebuilds the in-memory copy from the database (this model's embeddings only).</summary>
    private void Reload()
    {
        var byName = new Dictionary<string, List<StoredEmbedding>>(StringComparer.Ordinal);
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT i.name, e.id, e.vector FROM identities i LEFT JOIN embeddings e ON e.identity_id = i.id AND e.model = $m ORDER BY i.id, e.id";
            cmd.Parameters.AddWithValue("$m", _model);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var name = r.GetString(0);
                if (!byName.TryGetValue(name, out var list)) byName[name] = list = [];
                if (!r.IsDBNull(1) && Embeddings.FromBytes((byte[])r[2]) is { } v) list.Add(new StoredEmbedding(r.GetInt64(1), v));
            }
        }
        var snapshot = byName.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        var matrices = new Dictionary<int, EmbeddingMatrix>();
        foreach (var group in snapshot.SelectMany(kv => kv.Value.Select(e => (Name: kv.Key, e.Vector))).GroupBy(x => x.Vector.Length))
        {
            var items = group.ToArray();
            var rows = new float[items.Length * group.Key];
            for (var i = 0; i < items.Length; i++)
            {
                var row = rows.AsSpan(i * group.Key, group.Key);
                items[i].Vector.CopyTo(row);
                if (!Embeddings.Normalize(row)) row.Clear(); // a zero or non-finite vector matches nothing (cosine 0)
            }
            matrices[group.Key] = new EmbeddingMatrix(group.Key, rows, items.Select(x => x.Name).ToArray(), items.Length);
        }
        _matrices = matrices;
        _snapshot = snapshot;
    }

    /// <summary>
    /// Adds one stored embedding to the copy in memory: the identity's list and its dimension's matrix (appended in
    /// place), published together as <see cref="Reload"/> publishes them. O(identities) for the copy of the name
    /// index, instead of reading every vector back and rebuilding the matrix.
    /// </summary>
    private void Append(string name, StoredEmbedding e)
    {
        var snapshot = new Dictionary<string, StoredEmbedding[]>(_snapshot, StringComparer.Ordinal);
        snapshot[name] = snapshot.TryGetValue(name, out var held) ? [.. held, e] : [e];
        var matrices = new Dictionary<int, EmbeddingMatrix>(_matrices);
        var dim = e.Vector.Length;
        matrices[dim] = (matrices.TryGetValue(dim, out var m) ? m : new EmbeddingMatrix(dim, [], [], 0)).Append(name, e.Vector);
        _matrices = matrices;
        _snapshot = snapshot;
    }

    /// <summary>Number of identities.</summary>
    public int Count => _snapshot.Count;

    /// <summary>
    /// Adds an embedding to <paramref name="name"/>, creating the identity if needed; when the identity then holds more
    /// than the limit, its oldest embeddings go. Durable when this returns. Returns the identity's embedding count.
    /// </summary>
    public int Add(string name, float[] embedding, byte[]? faceImage = null)
    {
        lock (_write)
        {
            var now = Now();
            using var tx = _db.BeginTransaction();
            long id;
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO identities(name, created_at, updated_at) VALUES ($n, $t, $t) ON CONFLICT(name) DO UPDATE SET updated_at = $t RETURNING id";
                cmd.Parameters.AddWithValue("$n", name);
                cmd.Parameters.AddWithValue("$t", now);
                id = (long)cmd.ExecuteScalar()!;
            }
            var vector = Embeddings.ToBytes(embedding);
            long embeddingId;
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO embeddings(identity_id, vector, created_at, model, face_image) VALUES ($i, $v, $t, $m, $f) RETURNING id";
                cmd.Parameters.AddWithValue("$i", id);
                cmd.Parameters.AddWithValue("$v", vector);
                cmd.Parameters.AddWithValue("$t", now);
                cmd.Parameters.AddWithValue("$m", _model);
                cmd.Parameters.AddWithValue("$f", StoreFaceImages && faceImage is not null ? faceImage : DBNull.Value);
                embeddingId = (long)cmd.ExecuteScalar()!;
            }
            int dropped;
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "DELETE FROM embeddings WHERE identity_id = $i AND id NOT IN (SELECT id FROM embeddings WHERE identity_id = $i ORDER BY id DESC LIMIT $k)";
                cmd.Parameters.AddWithValue("$i", id);
                cmd.Parameters.AddWithValue("$k", MaxEmbeddingsPerIdentity);
                dropped = cmd.ExecuteNonQuery();
            }
            CheckRoom(tx); // refused: the transaction is rolled back when it is disposed uncommitted
            tx.Commit();
            // Nothing dropped (the usual add): the row is appended to the copy in memory. An identity at its limit lost
            // its oldest rows, which sit inside the matrix: then the copy is rebuilt from the database.
            if (dropped == 0) Append(name, new StoredEmbedding(embeddingId, (float[])embedding.Clone()));
            else Reload();
            return _snapshot.TryGetValue(name, out var e) ? e.Length : 0;
        }
    }

    /// <summary>
    /// Refuses a write that leaves the gallery holding more than <see cref="MaxEmbeddings"/> embeddings (counted inside
    /// the write's transaction, after an identity's oldest were dropped, so an add to a full identity still goes in).
    /// </summary>
    private void CheckRoom(SqliteTransaction tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT COUNT(*) FROM embeddings";
        var total = (long)cmd.ExecuteScalar()!;
        if (total > MaxEmbeddings)
            throw new GalleryFullException($"the gallery is full: it holds at most {MaxEmbeddings} embeddings (gallery.max_embeddings); remove identities first, or raise the limit");
    }

    /// <summary>Deletes an identity and all its embeddings; false when there is none of that name.</summary>
    public bool Remove(string name)
    {
        lock (_write)
        {
            int rows;
            using (var tx = _db.BeginTransaction())
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "DELETE FROM identities WHERE name = $n";
                cmd.Parameters.AddWithValue("$n", name);
                rows = cmd.ExecuteNonQuery();
                tx.Commit();
            }
            if (rows == 0) return false;
            // The freed pages were zeroed (secure_delete) in the WAL; the checkpoint writes them over the old ones in
            // the database file and the WAL is cut to zero bytes, so no copy of the removed rows stays in either.
            Exec("PRAGMA wal_checkpoint(TRUNCATE)");
            if (VacuumOnRemove) Exec("VACUUM");
            Reload();
            return true;
        }
    }

    /// <summary>Every identity, by name.</summary>
    public IReadOnlyList<IdentityInfo> List()
    {
        var result = new List<IdentityInfo>();
        lock (_write)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT i.name, COUNT(e.id), i.created_at, i.updated_at FROM identities i LEFT JOIN embeddings e ON e.identity_id = i.id GROUP BY i.id ORDER BY i.name";
            using var r = cmd.ExecuteReader();
            while (r.Read()) result.Add(new IdentityInfo(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3)));
        }
        return result;
    }

    /// <summary>The identity whose best embedding is most similar to <paramref name="embedding"/>, or null for an empty gallery.</summary>
    public GalleryMatch? Best(ReadOnlySpan<float> embedding)
    {
        if (!_matrices.TryGetValue(embedding.Length, out var m) || m.Count == 0) return null;
        var query = embedding.ToArray();
        if (!Embeddings.Normalize(query)) query.AsSpan().Clear();
        var rows = m.Rows.AsSpan();
        int dim = m.Dimension, bestRow = 0;
        var bestScore = float.NegativeInfinity;
        for (var i = 0; i < m.Count; i++)
        {
            var s = System.Numerics.Tensors.TensorPrimitives.Dot(query, rows.Slice(i * dim, dim));
            if (s > bestScore)
            {
                bestScore = s;
                bestRow = i;
            }
        }
        return new GalleryMatch(m.Owners[bestRow], Math.Clamp(bestScore, -1f, 1f));
    }

    /// <summary>Every identity with its embeddings (all models), for export.</summary>
    public IReadOnlyList<ExportedIdentity> Export()
    {
        var byName = new Dictionary<string, (string Created, List<string> Vectors)>(StringComparer.Ordinal);
        var order = new List<string>();
        lock (_write)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT i.name, i.created_at, e.vector FROM identities i LEFT JOIN embeddings e ON e.identity_id = i.id AND e.model = $m ORDER BY i.name, e.id";
            cmd.Parameters.AddWithValue("$m", _model);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var name = r.GetString(0);
                if (!byName.TryGetValue(name, out var entry))
                {
                    byName[name] = entry = (r.GetString(1), []);
                    order.Add(name);
                }
                if (!r.IsDBNull(2)) entry.Vectors.Add(Convert.ToBase64String((byte[])r[2]));
            }
        }
        return order.Select(n => new ExportedIdentity(n, byName[n].Created, byName[n].Vectors)).ToArray();
    }

    /// <summary>
    /// Imports identities in one transaction (all or nothing): with <paramref name="replace"/> the gallery is emptied
    /// first, otherwise embeddings are added to identities of the same name. Vectors are checked (length, finite,
    /// non-zero) before anything is written. Returns (identities, embeddings) imported.
    /// </summary>
    public (int Identities, int Embeddings) Import(IReadOnlyList<(string Name, string? CreatedAt, float[][] Vectors)> identities, bool replace)
    {
        lock (_write)
        {
            var now = Now();
            var count = 0;
            using var tx = _db.BeginTransaction();
            if (replace) Exec("DELETE FROM identities", tx);
            foreach (var (name, created, vectors) in identities)
            {
                long id;
                using (var cmd = _db.CreateCommand())
                {
                    cmd.Transaction = tx;
                    cmd.CommandText = "INSERT INTO identities(name, created_at, updated_at) VALUES ($n, $c, $t) ON CONFLICT(name) DO UPDATE SET updated_at = $t RETURNING id";
                    cmd.Parameters.AddWithValue("$n", name);
                    cmd.Parameters.AddWithValue("$c", created ?? now);
                    cmd.Parameters.AddWithValue("$t", now);
                    id = (long)cmd.ExecuteScalar()!;
                }
                foreach (var v in vectors)
                {
                    using var cmd = _db.CreateCommand();
                    cmd.Transaction = tx;
                    cmd.CommandText = "INSERT INTO embeddings(identity_id, vector, created_at, model) VALUES ($i, $v, $t, $m)";
                    cmd.Parameters.AddWithValue("$i", id);
                    cmd.Parameters.AddWithValue("$v", Embeddings.ToBytes(v));
                    cmd.Parameters.AddWithValue("$t", now);
                    cmd.Parameters.AddWithValue("$m", _model);
                    cmd.ExecuteNonQuery();
                    count++;
                }
                using (var cmd = _db.CreateCommand())
                {
                    cmd.Transaction = tx;
                    cmd.CommandText = "DELETE FROM embeddings WHERE identity_id = $i AND id NOT IN (SELECT id FROM embeddings WHERE identity_id = $i ORDER BY id DESC LIMIT $k)";
                    cmd.Parameters.AddWithValue("$i", id);
                    cmd.Parameters.AddWithValue("$k", MaxEmbeddingsPerIdentity);
                    cmd.ExecuteNonQuery();
                }
            }
            CheckRoom(tx);
            tx.Commit();
            if (replace) Exec("PRAGMA wal_checkpoint(TRUNCATE)");
            Reload();
            return (identities.Count, count);
        }
    }

    /// <summary>Whether the database passes SQLite's integrity check.</summary>
    public bool IntegrityOk()
    {
        lock (_write) return Scalar("PRAGMA integrity_check") as string == "ok";
    }

    public void Dispose()
    {
        lock (_write) _db.Dispose();
    }
}

/// <summary>An add or import would take the gallery past its limit; nothing was written (409 gallery_full).</summary>
public sealed class GalleryFullException(string message) : Hailo.Hosting.Http.ApiException(409, "gallery_full", message);
