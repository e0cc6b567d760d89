using Hailo.Face;
using HailoFace.Gallery;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Hailo.FaceService.Tests;

/// <summary>The SQLite gallery on its own: storage, limits, the schema migration and its backup, and that a remove leaves no copy.</summary>
public sealed class GalleryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("face-gallery-").FullName;
    private string Db => Path.Combine(_dir, "g.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }

    private static float[] Vector(int seed)
    {
        var rng = new Random(seed);
        var v = Enumerable.Range(0, 512).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        Embeddings.Normalize(v);
        return v;
    }

    [Fact]
    public void A_full_gallery_refuses_adds_and_imports_and_keeps_what_it_has()
    {
        using var g = new FaceGallery(Db, "m", maxEmbeddingsPerIdentity: 2, maxEmbeddings: 3);
        g.Add("ann", Vector(1));
        g.Add("ann", Vector(2));
        g.Add("ben", Vector(3));
        var full = Assert.Throws<GalleryFullException>(() => g.Add("cy", Vector(4)));
        Assert.Equal(409, full.Status);
        Assert.Equal("gallery_full", full.Code);
        Assert.Contains("gallery.max_embeddings", full.Message);
        // A full identity still takes a newer face (its oldest goes): the total does not grow.
        Assert.Equal(2, g.Add("ann", Vector(5)));
        Assert.Throws<GalleryFullException>(() => g.Import([("dee", null, [Vector(6)])], replace: false));
        Assert.Equal(["ann", "ben"], g.List().Select(i => i.Name));
        Assert.Equal(3, g.List().Sum(i => i.EmbeddingCount));
        Assert.Equal("ann", g.Best(Vector(5))!.Name);
        // Room again once someone is removed; a replacing import counts what it leaves.
        Assert.True(g.Remove("ben"));
        g.Add("cy", Vector(4));
        Assert.Equal((1, 1), g.Import([("dee", null, [Vector(6)])], replace: true));
        Assert.Equal(["dee"], g.List().Select(i => i.Name));
    }

    [Fact]
    public void The_copy_in_memory_after_adds_matches_the_database_read_afresh()
    {
        // Adds append to the in-memory matrix (past its first capacity of 16 rows, so it grows); adds to a full identity,
        // removes and imports rebuild it. After each, every query's best match and score is what a gallery opened
        // afresh on the same file (which reads every vector back) answers.
        using var g = new FaceGallery(Db, "m", maxEmbeddingsPerIdentity: 3);
        var queries = Enumerable.Range(1000, 40).Select(Vector).ToArray();
        void Same(string after)
        {
            using var fresh = new FaceGallery(Db, "m", maxEmbeddingsPerIdentity: 3);
            Assert.Equal(fresh.Count, g.Count);
            foreach (var q in queries)
            {
                var (a, b) = (g.Best(q), fresh.Best(q));
                Assert.True(a == b || (a is not null && b is not null && a.Name == b.Name && Math.Abs(a.Similarity - b.Similarity) < 1e-6f), $"after {after}: {a} vs {b}");
            }
        }
        for (var i = 0; i < 40; i++)
        {
            var name = "p" + (i % 15);
            var count = g.Add(name, Vector(i));
            Assert.Equal(Math.Min(3, i / 15 + 1), count);
            if (i % 7 == 0) Same($"add {i}");
        }
        Assert.Equal(15, g.Count);
        Same("the adds");
        // p0..p9 hold 3 (the limit): a fourth drops their oldest, and the copy is rebuilt.
        for (var i = 40; i < 48; i++) Assert.Equal(3, g.Add("p" + (i - 40), Vector(i)));
        Same("adds to full identities");
        Assert.True(g.Remove("p3"));
        g.Add("p3", Vector(500));
        g.Add("new", Vector(501));
        Same("a remove and two adds");
        // A vector of zeros is stored and matches nothing better than a real one.
        g.Add("zero", new float[512]);
        Same("a zero vector");
        // Each query's own vector, once added, is its best match.
        g.Add("q", queries[7]);
        Assert.Equal("q", g.Best(queries[7])!.Name);
        Assert.Equal(1f, g.Best(queries[7])!.Similarity, 5);
    }

    [Fact]
    public void Embeddings_survive_reopening_and_the_best_match_is_the_closest_person()
    {
        using (var g = new FaceGallery(Db, "m"))
        {
            g.Add("ann", Vector(1));
            g.Add("ann", Vector(2));
            g.Add("ben", Vector(3));
        }
        using var again = new FaceGallery(Db, "m");
        Assert.Equal(["ann", "ben"], again.List().Select(i => i.Name));
        Assert.Equal(2, again.List()[0].EmbeddingCount);
        var m = again.Best(Vector(2))!;
        Assert.Equal("ann", m.Name);
        Assert.Equal(1f, m.Similarity, 4);
        Assert.Equal("ben", again.Best(Vector(3))!.Name);
        // Another model's embeddings are kept but never matched.
        using var other = new FaceGallery(Db, "other-model");
        Assert.Null(other.Best(Vector(2)));
        Assert.Equal(2, other.List().Count);
    }

    [Fact]
    public void An_identity_keeps_its_newest_embeddings_up_to_the_limit()
    {
        using var g = new FaceGallery(Db, "m", maxEmbeddingsPerIdentity: 3);
        for (var i = 0; i < 5; i++) Assert.Equal(Math.Min(i + 1, 3), g.Add("ann", Vector(i)));
        Assert.True(g.Best(Vector(0))!.Similarity < 0.5f);   // the oldest went
        Assert.Equal(1f, g.Best(Vector(4))!.Similarity, 4);
    }

    [Fact]
    public void Remove_leaves_no_copy_of_the_embedding_in_the_database_or_its_wal()
    {
        var v = Vector(42);
        var bytes = Embeddings.ToBytes(v);
        using var g = new FaceGallery(Db, "m");
        g.Add("keep", Vector(7));
        g.Add("gone", v);
        Assert.True(Contains(bytes), "the embedding is stored");
        Assert.True(g.Remove("gone"));
        Assert.False(g.Remove("gone"));
        Assert.False(Contains(bytes), "a removed embedding must not stay in the files");
        Assert.Single(g.List());
        Assert.True(g.IntegrityOk());
    }

    private bool Contains(byte[] needle)
    {
        foreach (var f in Directory.GetFiles(_dir))
        {
            byte[] hay;
            using (var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                hay = new byte[s.Length];
                s.ReadExactly(hay);
            }
            if (hay.AsSpan().IndexOf(needle.AsSpan(0, 64)) >= 0) return true;
        }
        return false;
    }

    [Fact]
    public void A_version_1_gallery_is_backed_up_then_migrated_keeping_its_people()
    {
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE identities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE embeddings (id INTEGER PRIMARY KEY, identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE, vector BLOB NOT NULL, created_at TEXT NOT NULL);
                INSERT INTO identities VALUES (1, 'old', '2025-01-01', '2025-01-01');
                PRAGMA user_version = 1;
                """;
            cmd.ExecuteNonQuery();
            using var insert = c.CreateCommand();
            insert.CommandText = "INSERT INTO embeddings(identity_id, vector, created_at) VALUES (1, $v, '2025-01-01')";
            insert.Parameters.AddWithValue("$v", Embeddings.ToBytes(Vector(5)));
            insert.ExecuteNonQuery();
        }
        // Version 1 embeddings carry no model: they become the default model '' and are not matched against another model.
        using var g = new FaceGallery(Db, "");
        Assert.NotNull(g.Backup);
        Assert.True(File.Exists(g.Backup));
        Assert.Equal("old", g.Best(Vector(5))!.Name);
        using var b = new SqliteConnection($"Data Source={g.Backup};Mode=ReadOnly;Pooling=False");
        b.Open();
        using var q = b.CreateCommand();
        q.CommandText = "PRAGMA user_version";
        Assert.Equal(1L, (long)q.ExecuteScalar()!);
        using var c2 = new SqliteConnection($"Data Source={Db};Mode=ReadOnly;Pooling=False");
        c2.Open();
        using var q2 = c2.CreateCommand();
        q2.CommandText = "PRAGMA user_version";
        Assert.Equal((long)FaceGallery.SchemaVersion, (long)q2.ExecuteScalar()!);
    }

    [Fact]
    public void A_gallery_from_a_newer_build_is_refused()
    {
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 99";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidDataException>(() => new FaceGallery(Db, "m"));
        Assert.Contains("newer than this build", e.Message);
    }

    [Fact]
    public void Import_replace_and_merge()
    {
        using var g = new FaceGallery(Db, "m");
        g.Add("ann", Vector(1));
        g.Import([("ben", null, [Vector(2), Vector(3)])], replace: false);
        Assert.Equal(["ann", "ben"], g.List().Select(i => i.Name));
        g.Import([("cid", "2024-05-05", [Vector(4)])], replace: true);
        Assert.Equal(["cid"], g.List().Select(i => i.Name));
        Assert.Equal("2024-05-05", g.List()[0].CreatedAt);
    }
}
