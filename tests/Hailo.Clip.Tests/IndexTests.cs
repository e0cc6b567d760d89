using HailoClip.Index;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Hailo.Clip.Tests;

/// <summary>The SQLite image index: persistence across opens, durability of a committed write, the bound, search order.</summary>
public sealed class IndexTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-clip-index-").FullName;
    private string Db => Path.Combine(_dir, "sub", "index.sqlite");

    public IndexTests() => SQLitePCL.Batteries_V2.Init();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }

    private static float[] Unit(int dim, int at)
    {
        var v = new float[dim];
        v[at] = 1;
        return v;
    }

    private static IndexItem Item(string id, float[] e, string? meta = null, string model = "m") => new(id, model, e, meta, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc));

    [Fact]
    public void Items_survive_a_reopen_with_their_embedding_and_metadata()
    {
        using (var index = new ImageIndex(Db, 10))
        {
            Assert.True(index.Upsert([Item("a", Unit(4, 0), "{\"k\":1}"), Item("b", Unit(4, 1))]));
            Assert.True(index.Delete("b"));
            Assert.False(index.Delete("b"));
        }
        using var again = new ImageIndex(Db, 10);
        Assert.Equal(1, again.Count);
        var a = again.Get("a")!;
        Assert.Equal(Unit(4, 0), a.Embedding);
        Assert.Equal("{\"k\":1}", a.Metadata);
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), a.AddedAt);
    }

    [Fact]
    public void A_committed_write_is_in_the_files_before_any_close_or_checkpoint()
    {
        // Simulates a process killed after answering: the index is never disposed; a copy of its files taken now
        // (database and write-ahead log, as a restart would find them) holds the write.
        var index = new ImageIndex(Db, 10);
        Assert.True(index.Upsert([Item("kept", Unit(3, 2))]));
        var copy = Path.Combine(_dir, "copy.sqlite");
        File.Copy(Db, copy);
        if (File.Exists(Db + "-wal")) File.Copy(Db + "-wal", copy + "-wal");
        using (var reopened = new ImageIndex(copy, 10)) Assert.Equal(Unit(3, 2), reopened.Get("kept")!.Embedding);
        index.Dispose();
    }

    [Fact]
    public void The_bound_refuses_a_batch_that_would_exceed_it_and_writes_nothing_of_it()
    {
        using var index = new ImageIndex(Db, 2);
        Assert.True(index.Upsert([Item("a", Unit(2, 0))]));
        Assert.False(index.Upsert([Item("b", Unit(2, 0)), Item("c", Unit(2, 1))]));
        Assert.Equal(1, index.Count);
        Assert.True(index.Upsert([Item("a", Unit(2, 1)), Item("b", Unit(2, 0))]));   // replacing a does not count
        Assert.Equal(2, index.Count);
    }

    [Fact]
    public void Search_is_by_cosine_within_the_model_best_first()
    {
        using var index = new ImageIndex(Db, 10);
        var s = MathF.Sqrt(0.5f);
        index.Upsert([Item("x", Unit(2, 0)), Item("y", Unit(2, 1)), Item("xy", [s, s]), Item("other", Unit(2, 0), model: "other")]);
        var hits = index.Search("m", Unit(2, 0), 10, -1);
        Assert.Equal(["x", "xy", "y"], hits.Select(h => h.Item.Id));
        Assert.Equal(s, hits[1].Score, 6);
        Assert.Equal(["x"], index.Search("m", Unit(2, 0), 1, -1).Select(h => h.Item.Id));
        Assert.Equal(["x", "xy"], index.Search("m", Unit(2, 0), 10, 0.5f).Select(h => h.Item.Id));
    }

    [Fact]
    public void The_best_k_kept_while_scanning_are_a_full_sort_s_first_k_with_ties_by_id_and_their_metadata()
    {
        using var index = new ImageIndex(Db, 1000);
        var rng = new Random(5);
        // 300 items on 8 directions: many exact ties, so the order among equal scores (by id) is tested too.
        var items = Enumerable.Range(0, 300).Select(i =>
        {
            var e = Unit(8, rng.Next(8));
            return Item($"item{rng.Next(100000):D5}-{i}", e, $"{{\"n\":{i}}}");
        }).ToList();
        Assert.True(index.Upsert(items));
        var query = new float[8];
        for (var d = 0; d < 8; d++) query[d] = (float)rng.NextDouble();
        var norm = MathF.Sqrt(query.Sum(v => v * v));
        for (var d = 0; d < 8; d++) query[d] /= norm;
        foreach (var k in new[] { 1, 7, 40, 299, 300, 1000 })
        {
            var expected = items.Select(i => (i.Id, Score: HailoClip.Pipeline.ClipPipeline.Dot(i.Embedding, query), i.Metadata))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Take(k).ToList();
            var hits = index.Search("m", query, k, -1);
            Assert.Equal(expected.Select(x => x.Id), hits.Select(h => h.Item.Id));
            Assert.Equal(expected.Select(x => x.Metadata), hits.Select(h => h.Item.Metadata));
        }
    }

    [Fact]
    public void A_file_of_another_format_version_is_refused()
    {
        using (var index = new ImageIndex(Db, 10)) { }
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE meta SET value = '99' WHERE key = 'format_version';";
            cmd.ExecuteNonQuery();
        }
        Assert.Throws<InvalidDataException>(() => new ImageIndex(Db, 10));
    }
}
