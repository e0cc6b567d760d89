using System.Text.Json;
using Hailo.GenAI.Chat;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.GenAI.Tests;

/// <summary>Rendered prompts against the exact strings the families' Jinja templates produce.</summary>
public sealed class TemplateTests
{
    private static ChatTurn T(string role, string content) => new(role, content);

    [Fact]
    public void Qwen25_chat_without_system_gets_qwens_default_system_prompt()
    {
        var t = ChatTemplate.Recognise("{{'<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>'}}", "qwen2")!;
        Assert.Equal(TemplateFamily.ChatMl, t.Family);
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
            t.Render([T("user", "Hi"), T("assistant", "Hello!"), T("user", "How are you?")]));
    }

    [Fact]
    public void Qwen2_template_uses_its_own_default_and_a_given_system_replaces_it()
    {
        var t = ChatTemplate.Recognise("{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}<|im_start|>", "qwen2")!;
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n", t.Render([T("user", "x")]));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n", t.Render([T("system", "Be brief."), T("user", "x")]));
    }

    [Fact]
    public void Qwen25_tools_calls_and_responses_render_as_qwens_template_does()
    {
        var t = ChatTemplate.ChatMl();
        using var tool = JsonDocument.Parse("""{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""");
        using var args = JsonDocument.Parse("""{"city":"Paris"}""");
        var turns = new List<ChatTurn>
        {
            T("user", "Weather in Paris?"),
            new("assistant", "", [new ToolCall("get_weather", args.RootElement)]),
            T("tool", "22 C"),
        };
        var expected =
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
            "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}" +
            "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\n<tool_response>\n22 C\n</tool_response><|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(expected, t.Render(turns, [tool.RootElement]));
    }

    [Fact]
    public void Llama3_renders_headers_and_trims_content()
    {
        var t = ChatTemplate.Recognise(GgufWriter.Llama3Template, "llama")!;
        Assert.Equal(TemplateFamily.Llama3, t.Family);
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            t.Render([T("system", " Be brief. "), T("user", "Hi\n")]));
    }

    [Fact]
    public void Llama31_adds_the_knowledge_date_header()
    {
        var t = ChatTemplate.Recognise("<|start_header_id|>system Cutting Knowledge Date: December 2023", "llama")!;
        Assert.Equal(TemplateFamily.Llama31, t.Family);
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            t.Render([T("user", "Hi")]));
    }

    [Fact]
    public void Unknown_templates_are_not_claimed()
    {
        Assert.Null(ChatTemplate.Recognise("{{ bos_token }}[INST] {{ message }} [/INST]", "llama"));
    }

    [Fact]
    public void Tool_calls_are_parsed_from_qwen_and_llama_output()
    {
        var q = ToolCallParser.Parse("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>", TemplateFamily.ChatMl);
        Assert.Equal("f", Assert.Single(q.Calls).Name);
        Assert.Equal(1, q.Calls[0].Arguments.GetProperty("a").GetInt32());
        var l = ToolCallParser.Parse("{\"name\": \"g\", \"parameters\": {\"b\": \"x\"}}", TemplateFamily.Llama31);
        Assert.Equal("x", Assert.Single(l.Calls).Arguments.GetProperty("b").GetString());
        Assert.Empty(ToolCallParser.Parse("just text", TemplateFamily.ChatMl).Calls);
        Assert.Empty(ToolCallParser.Parse("<tool_call>not json</tool_call>", TemplateFamily.ChatMl).Calls);
    }

    [Fact]
    public void Keep_alive_values_parse_like_ollamas()
    {
        Assert.True(Hailo.GenAI.KeepAliveValue.TryParse("5m", out var v)); Assert.Equal(TimeSpan.FromMinutes(5), v);
        Assert.True(Hailo.GenAI.KeepAliveValue.TryParse("1h30m", out v)); Assert.Equal(TimeSpan.FromMinutes(90), v);
        Assert.True(Hailo.GenAI.KeepAliveValue.TryParse("300", out v)); Assert.Equal(TimeSpan.FromSeconds(300), v);
        Assert.True(Hailo.GenAI.KeepAliveValue.TryParse("-1", out v)); Assert.Equal(Hailo.GenAI.KeepAliveValue.Forever, v);
        Assert.True(Hailo.GenAI.KeepAliveValue.TryParse("0", out v)); Assert.Equal(TimeSpan.Zero, v);
        Assert.False(Hailo.GenAI.KeepAliveValue.TryParse("soon", out _));
    }
}
