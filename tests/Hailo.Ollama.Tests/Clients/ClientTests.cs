using System.ClientModel;
using System.ClientModel.Primitives;
using System.Security.Cryptography;
using System.Text.Json;
using Hailo.TestSupport;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OpenAI;
using OpenAI.Chat;
using RequestOptions = OllamaSharp.Models.RequestOptions;
using Xunit;

namespace Hailo.Ollama.Tests.Clients;

/// <summary>
/// The service through the clients people use: OllamaSharp 5.5.2 (the native API) and the OpenAI .NET SDK 2.15
/// (/v1). Random weights make the words gibberish, so the tests compare what the clients assemble with what the
/// service computes (greedy decoding is deterministic), and force structured replies with JSON-schema grammars
/// whose only valid output is known (const values): then parsing, tool calls and finish reasons are checked exactly.
/// </summary>
public sealed class ClientTests(OllamaFixture f) : IClassFixture<OllamaFixture>
{
    private const string Model = "qwen2.5:0.5b";
    private static readonly RequestOptions Greedy = new() { Temperature = 0, NumPredict = 12, Seed = 7 };

    private OllamaApiClient Ollama() => new(f.Client, Model);

    private ChatClient OpenAi(string model) => new(model, new ApiKeyCredential("unused"),
        new OpenAIClientOptions { Endpoint = new Uri(f.Service.BaseAddress, "/v1"), Transport = new HttpClientPipelineTransport(f.Client) });

    /// <summary>A llama-family GGUF imported the Ollama way, through OllamaSharp: blob upload, then create.</summary>
    private async Task<string> ImportLlamaAsync(OllamaApiClient c, string name)
    {
        var path = Path.Combine(f.ModelsDir, name.Replace(':', '-') + ".gguf");
        GgufWriter.Write(path, new GgufWriter.Spec("llama", Seed: 5));
        var bytes = await File.ReadAllBytesAsync(path);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!await c.IsBlobExistsAsync(digest)) await c.PushBlobAsync(digest, bytes);
        Assert.True(await c.IsBlobExistsAsync(digest));
        var statuses = new List<string?>();
        await foreach (var s in c.CreateModelAsync(new CreateModelRequest { Model = name, Files = new() { ["model.gguf"] = digest } }))
            statuses.Add(s?.Status);
        Assert.Equal("success", statuses.Last());
        return name;
    }

    [Fact]
    public async Task OllamaSharp_streamed_generate_assembles_to_the_non_streamed_reply()
    {
        using var c = Ollama();
        var chunks = new List<GenerateResponseStream>();
        await foreach (var s in c.GenerateAsync(new GenerateRequest { Model = Model, Prompt = "Once upon a time", Options = Greedy }))
            chunks.Add(s!);
        var done = Assert.IsType<GenerateDoneResponseStream>(chunks[^1]);
        Assert.True(done.Done);
        Assert.Equal(12, done.EvalCount);
        Assert.Equal("length", done.DoneReason);
        Assert.True(done.PromptEvalCount > 0 && done.EvalDuration > 0 && done.TotalDuration >= done.EvalDuration);
        Assert.True(chunks.Count >= 2, "more than the final chunk");
        var streamed = string.Concat(chunks.Select(x => x.Response));

        using var http = await f.Client.PostAsync("/api/generate", new StringContent(
            """{"model":"qwen2.5:0.5b","prompt":"Once upon a time","stream":false,"options":{"temperature":0,"num_predict":12,"seed":7}}"""));
        var whole = JsonDocument.Parse(await http.Content.ReadAsStringAsync()).RootElement.GetProperty("response").GetString();
        Assert.Equal(whole, streamed);
    }

    [Fact]
    public async Task OllamaSharp_streamed_chat_ends_with_the_counts()
    {
        using var c = Ollama();
        var text = "";
        ChatDoneResponseStream? done = null;
        await foreach (var s in c.ChatAsync(new ChatRequest { Model = Model, Messages = [new Message(ChatRole.User, "Hi there")], Options = Greedy }))
        {
            if (s is ChatDoneResponseStream d) done = d;
            else text += s!.Message.Content;
        }
        Assert.NotNull(done);
        Assert.Equal(12, done.EvalCount);
        Assert.Equal(ChatRole.Assistant, done.Message.Role);
        Assert.NotEmpty(text);
        // The prompt the service evaluated is the ChatML rendering of the turn: more tokens than the words sent.
        Assert.True(done.PromptEvalCount > 10, $"prompt_eval_count {done.PromptEvalCount}");
    }

    [Fact]
    public async Task OllamaSharp_json_format_with_a_schema_parses()
    {
        using var c = Ollama();
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"answer":{"const":"yes"},"n":{"enum":[1,2]}}}""").RootElement;
        var text = "";
        string? reason = null;
        await foreach (var s in c.GenerateAsync(new GenerateRequest { Model = Model, Prompt = "json please", Format = schema, Options = new RequestOptions { Temperature = 0, NumPredict = 200 } }))
        {
            text += s!.Response;
            if (s is GenerateDoneResponseStream d) reason = d.DoneReason;
        }
        Assert.Equal("stop", reason); // the grammar closed the object: end of generation is the only token left
        var o = JsonDocument.Parse(text).RootElement;
        Assert.Equal("yes", o.GetProperty("answer").GetString());
        Assert.Contains(o.GetProperty("n").GetInt32(), new[] { 1, 2 });
    }

    [Fact]
    public async Task OllamaSharp_tool_call_of_a_llama_model_comes_back_as_tool_calls()
    {
        using var c = Ollama();
        var model = await ImportLlamaAsync(c, "tiny-llama-tools:1");
        var tool = new Tool
        {
            Function = new Function
            {
                Name = "get_weather", Description = "Weather of a city",
                Parameters = new Parameters { Properties = new Dictionary<string, Property> { ["city"] = new() { Type = "string" } }, Required = ["city"] },
            },
        };
        // Llama 3 calls a tool with a bare JSON object; the schema makes that object the only possible reply.
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"name":{"const":"get_weather"},"parameters":{"type":"object","properties":{"city":{"const":"Paris"}}}}}""").RootElement;
        Message? final = null;
        var contents = "";
        await foreach (var s in c.ChatAsync(new ChatRequest
        {
            Model = model, Messages = [new Message(ChatRole.User, "Weather in Paris?")], Tools = [tool], Format = schema,
            Options = new RequestOptions { Temperature = 0, NumPredict = 300 },
        }))
        {
            contents += s!.Message.Content;
            if (s.Message.ToolCalls?.Any() == true) final = s.Message;
        }
        Assert.NotNull(final);
        var call = Assert.Single(final.ToolCalls!);
        Assert.Equal("get_weather", call.Function!.Name);
        Assert.Equal("Paris", call.Function.Arguments!["city"]?.ToString());
        Assert.DoesNotContain("get_weather", contents); // the call is not also streamed as text
    }

    [Fact]
    public async Task OllamaSharp_keep_alive_strings_set_the_expiry_and_zero_unloads()
    {
        using var c = Ollama();
        var model = await ImportLlamaAsync(c, "tiny-llama-keep:1");
        await foreach (var _ in c.GenerateAsync(new GenerateRequest { Model = model, Prompt = "a", KeepAlive = "1h30m", Options = new RequestOptions { NumPredict = 1 } })) { }
        var ps = (await c.ListRunningModelsAsync()).Single(m => m.Name == model);
        var left = ps.ExpiresAt.ToUniversalTime() - DateTime.UtcNow;
        Assert.InRange(left.TotalMinutes, 89, 90.1);
        await foreach (var _ in c.GenerateAsync(new GenerateRequest { Model = model, Prompt = "a", KeepAlive = "300s", Options = new RequestOptions { NumPredict = 1 } })) { }
        left = (await c.ListRunningModelsAsync()).Single(m => m.Name == model).ExpiresAt.ToUniversalTime() - DateTime.UtcNow;
        Assert.InRange(left.TotalSeconds, 280, 301);
        await foreach (var _ in c.GenerateAsync(new GenerateRequest { Model = model, Prompt = "a", KeepAlive = "0s", Options = new RequestOptions { NumPredict = 1 } })) { }
        Assert.DoesNotContain(await c.ListRunningModelsAsync(), m => m.Name == model);
    }

    [Fact]
    public async Task OpenAi_streaming_chat_assembles_to_the_non_streamed_reply_with_usage()
    {
        var chat = OpenAi(Model);
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 10 };
        var text = "";
        ChatFinishReason? reason = null;
        ChatTokenUsage? usage = null;
        await foreach (var u in chat.CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")], options))
        {
            foreach (var part in u.ContentUpdate) text += part.Text;
            reason ??= u.FinishReason;
            usage ??= u.Usage;
        }
        Assert.Equal(ChatFinishReason.Length, reason);
        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("Tell me a story")], options);
        Assert.Equal(whole.Content[0].Text, text);
        Assert.Equal(10, whole.Usage.OutputTokenCount);
        if (usage is not null) Assert.Equal(10, usage.OutputTokenCount);
    }

    [Fact]
    public async Task OpenAi_json_schema_response_format_parses()
    {
        var options = new ChatCompletionOptions
        {
            Temperature = 0, MaxOutputTokenCount = 200,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("reply",
                BinaryData.FromString("""{"type":"object","properties":{"ok":{"const":true},"word":{"enum":["a","b"]}},"required":["ok","word"]}""")),
        };
        ChatCompletion r = await OpenAi(Model).CompleteChatAsync([new UserChatMessage("json")], options);
        Assert.Equal(ChatFinishReason.Stop, r.FinishReason);
        var o = JsonDocument.Parse(r.Content[0].Text).RootElement;
        Assert.True(o.GetProperty("ok").GetBoolean());
        Assert.Contains(o.GetProperty("word").GetString(), new[] { "a", "b" });
    }

    [Fact]
    public async Task OpenAi_tool_call_has_json_string_arguments_and_finish_reason_tool_calls()
    {
        using var c = Ollama();
        var model = await ImportLlamaAsync(c, "tiny-llama-oai:1");
        var options = new ChatCompletionOptions
        {
            Temperature = 0, MaxOutputTokenCount = 300,
            Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather of a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""")) },
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("call",
                BinaryData.FromString("""{"type":"object","properties":{"name":{"const":"get_weather"},"parameters":{"type":"object","properties":{"city":{"const":"Oslo"}}}}}""")),
        };
        ChatCompletion r = await OpenAi(model).CompleteChatAsync([new UserChatMessage("Weather in Oslo?")], options);
        Assert.Equal(ChatFinishReason.ToolCalls, r.FinishReason);
        var call = Assert.Single(r.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.False(string.IsNullOrEmpty(call.Id));
        Assert.Equal("Oslo", JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task OpenAi_unknown_model_is_a_404_the_sdk_reports()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => OpenAi("nope:1b").CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(404, e.Status);
        Assert.Contains("nope", e.Message);
    }
}
