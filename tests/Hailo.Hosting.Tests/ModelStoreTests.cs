using System.Diagnostics;
using System.Security.Cryptography;
using Hailo.Hosting.Models;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>
/// <see cref="ModelStore"/>'s pulls against a slow HTTP server on 127.0.0.1: progress while the bytes arrive, resume
/// only when a pinned sha256 can check the result, unverified files reported as such, and the catalog rule.
/// </summary>
public sealed class ModelStoreTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-store-").FullName;
    private readonly SlowFileServer _server = new(chunkBytes: 32 << 10, pause: TimeSpan.FromMilliseconds(15));
    private readonly HttpClient _http = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private static byte[] Random(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private sealed class Recorder : IProgress<PullProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<(TimeSpan At, PullProgress P)> _reports = [];
        public void Report(PullProgress value) { lock (_reports) _reports.Add((_clock.Elapsed, value)); }
        public IReadOnlyList<(TimeSpan At, PullProgress P)> Reports { get { lock (_reports) return _reports.ToArray(); } }
        public IEnumerable<string> Statuses => Reports.Select(r => r.P.Status);
        public TimeSpan Now => _clock.Elapsed;
    }

    private (ModelStore Store, ModelManifest Manifest) Store(string file, byte[] content, bool pinned)
    {
        _server.Serve(file, content);
        var manifest = new ModelManifest("m", Hailo.Core.Backend.Cpu, "test model", "MIT",
            [pinned ? new ModelFile(file, Sha(content), content.Length, _server.Url(file)) : new ModelFile(file, null, null, _server.Url(file), Unverified: true)]);
        return (new ModelStore(_dir, [], [manifest]), manifest);
    }

    [Fact]
    public async Task Progress_is_reported_while_the_bytes_arrive_not_after()
    {
        var content = Random(2 << 20, 1); // 64 chunks, about a second
        var (store, manifest) = Store("slow.bin", content, pinned: true);
        var progress = new Recorder();
        await store.PullAsync(manifest, _http, progress, CancellationToken.None);
        var end = progress.Reports.Single(r => r.P.Status == "verifying sha256 digest").At;
        var during = progress.Reports.Where(r => r.P.Status == "pulling slow.bin" && r.P.Completed > 0 && r.P.Completed < content.Length).ToList();
        Assert.True(during.Count >= 2, "progress while downloading: " + string.Join(" | ", progress.Reports));
        Assert.All(during, r => Assert.True(r.At < end));
        Assert.All(during, r => Assert.Equal(content.Length, r.P.Total));
        Assert.True(during.Select(r => r.P.Completed).SequenceEqual(during.Select(r => r.P.Completed).Order()));
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_dir, "m", "slow.bin")));
    }

    [Fact]
    public async Task A_corrupted_partial_download_with_a_pinned_hash_is_fetched_again_from_the_start()
    {
        var content = Random(300_000, 2);
        var (store, manifest) = Store("pinned.bin", content, pinned: true);
        Directory.CreateDirectory(Path.Combine(_dir, "m"));
        var bad = content[..100_000].ToArray();
        bad[500] ^= 0xff; // a prefix of the right length with a wrong byte: a resume alone would splice it in
        await File.WriteAllBytesAsync(Path.Combine(_dir, "m", "pinned.bin.partial"), bad);
        var progress = new Recorder();
        await store.PullAsync(manifest, _http, progress, CancellationToken.None);
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_dir, "m", "pinned.bin")));
        Assert.False(File.Exists(Path.Combine(_dir, "m", "pinned.bin.partial")));
        // First a resume (it can be checked), which fails the check, then the whole file.
        Assert.Equal([("pinned.bin", "bytes=100000-"), ("pinned.bin", (string?)null)], _server.Requests);
        Assert.Contains(progress.Statuses, s => s.Contains("does not check out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_intact_partial_download_with_a_pinned_hash_is_resumed()
    {
        var content = Random(300_000, 3);
        var (store, manifest) = Store("resume.bin", content, pinned: true);
        Directory.CreateDirectory(Path.Combine(_dir, "m"));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "m", "resume.bin.partial"), content[..120_000]);
        await store.PullAsync(manifest, _http, null, CancellationToken.None);
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_dir, "m", "resume.bin")));
        Assert.Equal([("resume.bin", "bytes=120000-")], _server.Requests);
    }

    [Fact]
    public async Task An_unverified_file_is_reported_as_such_and_its_partial_download_is_never_resumed()
    {
        var content = Random(200_000, 4);
        var (store, manifest) = Store("loose.bin", content, pinned: false);
        Assert.False(manifest.Verified);
        Directory.CreateDirectory(Path.Combine(_dir, "m"));
        var stale = content[..50_000].ToArray();
        stale[10] ^= 0xff; // nothing could tell this prefix is wrong: it must not be kept
        await File.WriteAllBytesAsync(Path.Combine(_dir, "m", "loose.bin.partial"), stale);
        var progress = new Recorder();
        await store.PullAsync(manifest, _http, progress, CancellationToken.None);
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_dir, "m", "loose.bin")));
        Assert.Equal([("loose.bin", (string?)null)], _server.Requests);
        Assert.Contains(progress.Statuses, s => s.StartsWith("unverified: the catalog pins no sha256 for loose.bin", StringComparison.Ordinal));
        Assert.DoesNotContain(progress.Statuses, s => s.Contains("verifying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_download_that_fails_its_pinned_hash_is_refused_and_nothing_is_left_under_the_final_name()
    {
        var content = Random(100_000, 5);
        _server.Serve("wrong.bin", content);
        var manifest = new ModelManifest("m", Hailo.Core.Backend.Cpu, "test model", "MIT", [new ModelFile("wrong.bin", new string('a', 64), null, _server.Url("wrong.bin"))]);
        var store = new ModelStore(_dir, [], [manifest]);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => store.PullAsync(manifest, _http, null, CancellationToken.None));
        Assert.Contains("does not match", e.Message);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir, "m")));
    }

    [Fact]
    public async Task A_mirror_serves_every_file_by_its_name()
    {
        var content = Random(10_000, 6);
        _server.Serve("x.bin", content);
        var manifest = new ModelManifest("m", Hailo.Core.Backend.Cpu, "test model", "MIT", [new ModelFile("x.bin", Sha(content), content.Length, "https://example.invalid/some/path/x.bin")]);
        var store = new ModelStore(_dir, [], [manifest], mirror: _server.BaseAddress);
        await store.PullAsync(manifest, _http, null, CancellationToken.None);
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_dir, "m", "x.bin")));
    }

    [Fact]
    public void A_catalog_file_without_a_pinned_sha256_must_be_marked_unverified()
    {
        ModelManifest M(ModelFile f) => new("m", Hailo.Core.Backend.Cpu, "d", "MIT", [f]);
        var e = Assert.Throws<InvalidOperationException>(() => new ModelStore(_dir, [], [M(new ModelFile("a.bin", null, null, "https://example.invalid/a.bin"))]));
        Assert.Contains("m/a.bin: no pinned sha256", e.Message);
        Assert.Throws<InvalidOperationException>(() => ModelStore.CheckCatalog([M(new ModelFile("a.bin", new string('a', 64), 1, Unverified: true))]));
        Assert.Throws<InvalidOperationException>(() => ModelStore.CheckCatalog([M(new ModelFile("a.bin", "ABC", 1))]));
        ModelStore.CheckCatalog([M(new ModelFile("a.bin", null, null, Unverified: true)), M(new ModelFile("b.bin", new string('0', 64), 3))]);
    }

    [Fact]
    public void The_model_list_says_which_models_are_unverified()
    {
        var store = new ModelStore(_dir, [], [
            new ModelManifest("pinned", Hailo.Core.Backend.Cpu, "d", "MIT", [new ModelFile("a.bin", new string('0', 64), 3)]),
            new ModelManifest("loose", Hailo.Core.Backend.Cpu, "d", "MIT", [new ModelFile("b.bin", null, null, Unverified: true)]),
        ]);
        var list = ModelList.From(store, new ServiceState("t", "1"));
        Assert.True(list.Data.Single(m => m.Id == "pinned").Verified);
        Assert.False(list.Data.Single(m => m.Id == "loose").Verified);
    }

    [Fact]
    public void A_durable_write_leaves_the_old_file_or_the_new_one_and_sweeps_what_a_kill_left()
    {
        var path = Path.Combine(_dir, "record.json");
        DurableFile.WriteAllText(path, "{\"v\":1}");
        DurableFile.WriteAllText(path, "{\"v\":2}");
        Assert.Equal("{\"v\":2}", File.ReadAllText(path));
        Assert.Equal(["record.json"], Directory.EnumerateFiles(_dir).Select(Path.GetFileName));
        // A process killed between writing the temporary file and renaming it leaves one: it is swept, the record stays.
        File.WriteAllText(DurableFile.TempName(path), "{\"v\":");
        Assert.Equal(1, DurableFile.SweepTemporaries(_dir));
        Assert.Equal(["record.json"], Directory.EnumerateFiles(_dir).Select(Path.GetFileName));
    }
}
