using System.Collections.Concurrent;
using System.Net;
using Hailo.TestSupport;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Hailo.FaceService.Tests.Process;

/// <summary>
/// The hailo-face executable: the gallery's durability under kill -9 in the middle of a stream of adds, the degraded
/// start without models, commands. Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_FACE
/// names it.
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-face")
{
    private string GalleryPath => Path.Combine(Models, "gallery.db");

    protected override string[] Args(params string[] extra) => base.Args(["--gallery.path", GalleryPath, .. extra]);

    private static ByteArrayContent Image(int i) =>
        new(FaceServiceFixture.Person((byte)(130 + i % 120), (byte)(40 + i * 7 % 200), 90)) { Headers = { ContentType = new("image/png") } };

    [Fact]
    public async Task Every_acknowledged_add_survives_kill_9_and_nothing_is_half_written()
    {
        FaceServiceFixture.WriteModels(Models);
        var acked = new ConcurrentBag<string>();
        var attempted = new ConcurrentBag<string>();
        await using (var p = Start(Args("--device", "cpu")))
        {
            await p.WaitForDatagram("READY=1", LoadTimeout);
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var name = $"w{w}-{i}";
                    attempted.Add(name);
                    try
                    {
                        var r = await p.Client.PostAsync($"/v1/database/add?name={name}", Image(w * 1000 + i));
                        if (r.StatusCode == HttpStatusCode.OK) acked.Add(name);
                        else Assert.Fail($"{name}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
                    }
                    catch (HttpRequestException) { return; }   // the process is gone
                    catch (TaskCanceledException) { return; }
                }
            })).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (acked.Count < 40 && DateTime.UtcNow < deadline && writers.All(t => !t.IsCompleted)) await Task.Delay(10);
            Assert.True(acked.Count >= 40, $"only {acked.Count} adds acknowledged: {p.Stderr}");
            p.Signal(9);   // SIGKILL while the writers are mid-request
            await p.WaitForExit(TimeSpan.FromSeconds(10));
            stop.Cancel();
            await Task.WhenAll(writers);
        }

        await using var again = Start(Args("--device", "cpu"));
        await again.WaitForDatagram("READY=1", LoadTimeout);
        var list = await GetJson(again, "/v1/database/list");
        var stored = list.GetProperty("identities").EnumerateArray()
            .ToDictionary(i => i.GetProperty("name").GetString()!, i => i.GetProperty("embedding_count").GetInt32());
        var missing = acked.Where(n => !stored.ContainsKey(n)).ToArray();
        Assert.True(missing.Length == 0, $"acknowledged adds lost after kill -9: {string.Join(", ", missing)}");
        // Unacknowledged adds may or may not be there, but only whole: a person with their one embedding, nothing else.
        Assert.All(stored, kv => Assert.Contains(kv.Key, attempted));
        Assert.All(stored, kv => Assert.Equal(1, kv.Value));
        using var db = new SqliteConnection($"Data Source={GalleryPath};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var check = db.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", check.ExecuteScalar() as string);
        // And the survivors are recognised.
        var first = acked.First();
        var index = int.Parse(first.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture) + 1000 * int.Parse(first[1..first.IndexOf('-')], System.Globalization.CultureInfo.InvariantCulture);
        var r = await Json(await again.Client.PostAsync("/v1/recognize", Image(index)));
        Assert.True(r.GetProperty("faces")[0].GetProperty("match_score").GetDouble() > 0.99);
    }

    [Fact]
    public async Task Without_its_models_the_service_starts_degraded_and_says_where_to_put_the_files()
    {
        await using var p = Start(Args("--device", "cpu"));
        var health = await AssertStartsDegraded(p, "STATUS=degraded: model scrfd_2.5g-arcface_mbf is missing",
            $"put scrfd_2.5g_bnkps.onnx, w600k_mbf.onnx into {Path.Combine(Models, "scrfd_2.5g-arcface_mbf")}/");
        Assert.Contains("insightface", health.GetProperty("fix").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await p.Client.PostAsync("/v1/detect", Image(1))).StatusCode);
        // The gallery works without the models.
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/v1/database/list")).StatusCode);
        FaceServiceFixture.WriteModels(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/detect", Image(1))).StatusCode);
    }

    [Fact]
    public async Task An_unopenable_gallery_degrades_the_gallery_routes_only_until_it_can_be_opened()
    {
        FaceServiceFixture.WriteModels(Models);
        // The gallery's folder is a regular file: SQLite cannot create the database (as root too).
        var blocker = Path.Combine(Models, "gallery-dir");
        File.WriteAllText(blocker, "not a folder");
        var gallery = Path.Combine(blocker, "gallery.db");
        await using var p = Start(IsolatedArgs(Models, ["--threads", "1", "--device", "cpu", "--gallery.path", gallery]));
        await p.WaitForDatagram("READY=1", StartTimeout);
        AssertDatagram(p, ["STATUS=degraded", $"the gallery {gallery} cannot be opened"]);
        var health = await p.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var body = await Json(health);
        Assert.Contains("cannot be opened", body.GetProperty("reason").GetString());
        Assert.Contains("writable", body.GetProperty("fix").GetString());

        var list = await p.Client.GetAsync("/v1/database/list");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, list.StatusCode);
        Assert.NotNull(list.Headers.RetryAfter);
        Assert.Equal("gallery_unavailable", (await Json(list)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await p.Client.PostAsync("/v1/recognize", Image(1))).StatusCode);
        // Detection and embedding need no gallery.
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/detect", Image(1))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/embed", Image(1))).StatusCode);

        // The operator fixes the folder: the next gallery request opens it, and the service is healthy.
        File.Delete(blocker);
        Directory.CreateDirectory(blocker);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/v1/database/list")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem() =>
        await AssertConfigRefused("face:\n  recognition_threshold: 3\n  max_faces: 0\ngallery:\n  max_embeddings_per_identity: 0\n",
            "face.recognition_threshold: must be a cosine similarity between -1 and 1", "face.max_faces: must be between 1 and 100",
            "gallery.max_embeddings_per_identity: must be between 1 and 1000");
}
