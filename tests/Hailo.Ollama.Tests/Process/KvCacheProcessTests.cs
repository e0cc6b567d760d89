using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ollama.Tests.Process;

/// <summary>
/// Two hailo-ollama processes on the fake NPU take turns with its one KV cache over a private dbus-daemon: requests
/// alternate between them, and a holder killed in the middle of a hand-off frees the cache for the other. The fake
/// device keeps the cache with an flock() across processes, as HailoRT refuses a second LLM. Runs the JIT build, or
/// the Native AOT binary under `make test-aot`.
/// </summary>
[Collection("fake-shim")]
public sealed class KvCacheProcessTests() : ServiceProcessTestBase("hailo-ollama")
{
    private static StringContent JsonBody(string s) => new(s, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode, string)> Chat(ServiceProcess p, string text)
    {
        var r = await p.Client.PostAsync("/api/chat", JsonBody($$"""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"{{text}}"}],"stream":false}"""));
        var body = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, r.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("message").GetProperty("content").GetString()!.Trim() : body);
    }

    [Fact]
    public async Task Two_processes_alternate_and_a_holder_killed_mid_hand_off_frees_the_cache()
    {
        using var bus = new PrivateBus();
        Npu.NpuTests.WriteFakeHef(Models, tokenDelayMs: 20);
        string[] turns = ["--ollama.default_model", "qwen2.5:1.5b", "--models.preload", "false", "--kv_cache.bus", bus.Address,
            "--kv_cache.min_hold_seconds", "0", "--kv_cache.wait_seconds", "20"];
        await using var a = await StartOnFakeNpu(turns);
        var b = await StartOnFakeNpu(turns);
        try
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal((HttpStatusCode.OK, $"a{i}"), await Chat(a, $"a{i}"));
                Assert.Equal((HttpStatusCode.OK, $"b{i}"), await Chat(b, $"b{i}"));
            }

            // b holds the cache and is 60 tokens × 20 ms into a generation when a asks for it: b hands over only after
            // that generation, and is killed before it ends. The bus drops b's name, the device its lock.
            var words = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"w{i}"));
            var longRun = Chat(b, words);
            await Task.Delay(300);
            var sw = Stopwatch.StartNew();
            var taking = Chat(a, "after the kill");
            await Task.Delay(300);
            Assert.False(taking.IsCompleted, "a got the cache while b's generation was still running");
            b.Signal(9);
            await b.WaitForExit(TimeSpan.FromSeconds(10));
            Assert.Equal((HttpStatusCode.OK, "after the kill"), await taking.WaitAsync(TimeSpan.FromSeconds(15)));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"the hand-off after the kill took {sw.Elapsed.TotalSeconds:F1} s");
            _ = await Record.ExceptionAsync(() => longRun);
        }
        finally
        {
            await b.DisposeAsync();
        }
    }
}
