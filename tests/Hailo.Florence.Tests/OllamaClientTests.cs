using System.Text;
using Hailo.TestSupport;
using OllamaSharp;
using OllamaSharp.Models;
using Xunit;

namespace Hailo.Florence.Tests;

/// <summary>A real Ollama client (OllamaSharp) against /api/tags and /api/generate with an image, as Ollama describers call it.</summary>
[Collection("florence-service")]
public sealed class OllamaClientTests(FlorenceServiceFixture fixture)
{
    [Fact]
    public async Task OllamaSharp_lists_the_model_and_gets_a_description_of_an_image()
    {
        using var http = new HttpClient { BaseAddress = fixture.Service.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        var client = new OllamaApiClient(http, "florence-2");
        var models = await client.ListLocalModelsAsync();
        Assert.Equal("florence-2:latest", Assert.Single(models).Name);

        var image = Convert.ToBase64String(FlorenceServiceFixture.Image(255, 255, 255));
        var text = new StringBuilder();
        var done = false;
        await foreach (var chunk in client.GenerateAsync(new GenerateRequest
                       {
                           Model = "florence-2", Prompt = "Describe the image for a camera event.", Images = [image],
                           Options = new RequestOptions { Temperature = 0, NumPredict = 200 },
                       }))
        {
            text.Append(chunk?.Response);
            done |= chunk?.Done == true;
        }
        Assert.True(done);
        // The generated model echoes the prompt of florence.ollama_task (<MORE_DETAILED_CAPTION>).
        Assert.Equal("Describe with a paragraph what is shown in the image.", text.ToString());
    }
}
