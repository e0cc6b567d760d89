using System.ClientModel;
using System.ClientModel.Primitives;
using Hailo.TestSupport;
using OllamaSharp;
using OllamaSharp.Models.Chat;
using OpenAI;
using OpenAI.Chat;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// Real clients, unchanged, with images: OllamaSharp (messages with images, and generate as Frigate calls it) and the
/// OpenAI .NET SDK (an image content part from bytes, which it sends as a data URL). Through the fake VLM: the
/// answers name each frame's mean, so the images are shown to arrive whole and in order. Also the OpenAPI document.
/// </summary>
[Collection("fake-shim")]
public sealed class ClientTests(VisionFixture f) : IClassFixture<VisionFixture>
{
    private const string Model = "qwen2-vl:2b";

    [Fact]
    public async Task OllamaSharp_chat_with_images_streams_the_answer()
    {
        using var c = new OllamaApiClient(f.Client, Model);
        var request = new ChatRequest
        {
            Model = Model,
            Messages = [new Message(ChatRole.User, "what is in the picture", [B64(Png(255, 0, 0)), B64(Png(30, 30, 30))])],
        };
        var text = "";
        await foreach (var chunk in c.ChatAsync(request)) text += chunk?.Message.Content;
        Assert.Equal("<image0:mean=85> <image1:mean=30> what is in the picture", text.Trim());
    }

    [Fact]
    public async Task OllamaSharp_generate_with_an_image_as_frigate_sends_it()
    {
        using var c = new OllamaApiClient(f.Client, Model);
        var text = "";
        await foreach (var s in c.GenerateAsync(new OllamaSharp.Models.GenerateRequest { Model = Model, Prompt = "Summarise", Images = [B64(Png(255, 0, 0))], Stream = false }))
            text += s?.Response;
        Assert.Equal("<image0:mean=85> Summarise", text.Trim());
    }

    [Fact]
    public async Task OpenAi_sdk_sends_an_image_part_from_bytes()
    {
        var client = new ChatClient(Model, new ApiKeyCredential("unused"),
            new OpenAIClientOptions { Endpoint = new Uri(f.Service.BaseAddress, "/v1"), Transport = new HttpClientPipelineTransport(f.Client) });
        ChatCompletion done = await client.CompleteChatAsync(
            new UserChatMessage(ChatMessageContentPart.CreateTextPart("describe"), ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(Png(30, 30, 30)), "image/png")));
        Assert.Equal("<image0:mean=30> describe", done.Content[0].Text.Trim());
        Assert.True(done.Usage.InputTokenCount >= ImageTokens);
        Assert.Equal(ChatFinishReason.Stop, done.FinishReason);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_route() =>
        await OpenApiDocument.FetchAndAssertValid(f.Client, OpenApiRoutes.Of(f.Service.App));
}
