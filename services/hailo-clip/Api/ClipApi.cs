using System.Text.Json;
using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;

namespace HailoClip.Api;

/// <summary>POST /v1/classify: an image and the text prompts to rank against it.</summary>
public sealed record ClassifyRequest
{
    /// <summary>The image: base64 or a data URL.</summary>
    public string? Image { get; init; }
    /// <summary>Several images (1 to clip.max_batch), each ranked against the same prompts; instead of `image`.</summary>
    public List<string>? Images { get; init; }
    /// <summary>The prompts (1 to clip.max_prompts), e.g. ["a photo of a cat", "a photo of a dog"].</summary>
    public List<string>? Prompts { get; init; }
    /// <summary>How many of the best prompts come back (default clip.top_k, at most the number of prompts).</summary>
    public int? TopK { get; init; }
    /// <summary>Prompts scoring lower are left out (after the softmax), default 0.</summary>
    public double? Threshold { get; init; }
    /// <summary>Softmax over the prompts (default clip.apply_softmax); false gives the cosine similarities.</summary>
    public bool? Softmax { get; init; }
}

/// <summary>The ranked prompts (the earlier implementation's shape, plus the cosine similarity, performance and backend).</summary>
public sealed record ClassifyResponse(
    IReadOnlyList<Classification> Classifications,
    double InferenceTimeMs,
    string Model,
    string Backend,
    ClipPerformance Performance);

/// <summary>Several images against the same prompts: one ranking per image, in input order.</summary>
public sealed record ClassifyBatchResponse(
    IReadOnlyList<ImageClassifications> Results,
    double InferenceTimeMs,
    string Model,
    string Backend,
    ClipPerformance Performance);

/// <summary>One image's ranked prompts; `index` is its place in the request.</summary>
public sealed record ImageClassifications(int Index, IReadOnlyList<Classification> Classifications);

/// <summary>One prompt: its score (softmax probability, or the cosine similarity), rank from 1 and cosine similarity.</summary>
public sealed record Classification(string Text, double Score, int Rank, double Similarity);

/// <summary>POST /v1/embed/image as JSON: one image (`image`) or several (`images`), base64 or data URLs.</summary>
public sealed record EmbedImageRequest
{
    public string? Image { get; init; }
    public List<string>? Images { get; init; }
}

/// <summary>POST /v1/embed/text: one text or a list (`text` as a string or an array, or `texts`).</summary>
public sealed record EmbedTextRequest
{
    public TextInput? Text { get; init; }
    public List<string>? Texts { get; init; }
}

/// <summary>
/// An embedding answer: for one input `embedding` (the earlier shape), for a batch `embeddings` in input order;
/// L2-normalised either way.
/// </summary>
public sealed record EmbedResponse(
    float[]? Embedding,
    IReadOnlyList<float[]>? Embeddings,
    int Dimension,
    string Model,
    string Backend,
    int? Cached,
    ClipPerformance Performance);

/// <summary>Milliseconds: decoding, preprocessing, model, post-processing, total.</summary>
public sealed record ClipPerformance(double DecodeTimeMs, double PreprocessTimeMs, double ModelTimeMs, double PostprocessTimeMs, double TotalTimeMs);

/// <summary>POST /v1/embeddings (OpenAI): text only.</summary>
public sealed record OpenAiEmbeddingRequest
{
    public TextInput? Input { get; init; }
    /// <summary>Optional; when given it must name the loaded model.</summary>
    public string? Model { get; init; }
    /// <summary>float (default) or base64 (little-endian float32).</summary>
    public string? EncodingFormat { get; init; }
    /// <summary>Only the model's own size is accepted (CLIP cannot shorten its embeddings).</summary>
    public int? Dimensions { get; init; }
    public string? User { get; init; }
}

public sealed record OpenAiEmbeddingResponse(string Object, IReadOnlyList<OpenAiEmbedding> Data, string Model, OpenAiUsage Usage);

/// <summary>One embedding: `embedding` is a float array, or a base64 string with encoding_format=base64.</summary>
public sealed record OpenAiEmbedding(
    string Object,
    int Index,
    [property: JsonConverter(typeof(EmbeddingValueConverter))] EmbeddingValue Embedding);

public sealed record OpenAiUsage(int PromptTokens, int TotalTokens);

/// <summary>An embedding as floats or as base64 of its little-endian float32 bytes.</summary>
public sealed record EmbeddingValue(float[] Values, bool Base64);

/// <summary>POST /v1/index as JSON: one item (id, image, metadata) or several (`items`).</summary>
public sealed record IndexRequest
{
    public string? Id { get; init; }
    public string? Image { get; init; }
    /// <summary>Any JSON object, kept with the image and returned by search.</summary>
    public JsonElement? Metadata { get; init; }
    public List<IndexRequestItem>? Items { get; init; }
}

public sealed record IndexRequestItem
{
    public string? Id { get; init; }
    public string? Image { get; init; }
    public JsonElement? Metadata { get; init; }
}

public sealed record IndexResponse(IReadOnlyList<string> Ids, int Added, int Replaced, int Count, string Model, ClipPerformance Performance);

public sealed record IndexStats(int Count, int MaxItems, string Model, int CountForModel, int FormatVersion);

public sealed record DeleteResponse(string Id, bool Deleted, int Count);

/// <summary>POST /v1/search as JSON: by `text` or by `image` (one of them), the best `top_k` at or above `min_score`.</summary>
public sealed record SearchRequest
{
    public string? Text { get; init; }
    public string? Image { get; init; }
    public int? TopK { get; init; }
    public double? MinScore { get; init; }
}

public sealed record SearchResponse(IReadOnlyList<SearchHit> Results, int Count, string Query, string Model, ClipPerformance Performance);

/// <summary>One hit: the item's id, the cosine similarity and the metadata it was added with.</summary>
public sealed record SearchHit(string Id, double Score, JsonElement? Metadata);

/// <summary>A string or an array of strings: the texts and whether they came as an array.</summary>
[JsonConverter(typeof(TextInputConverter))]
public sealed record TextInput(IReadOnlyList<string> Items, bool IsArray);

public sealed class TextInputConverter : JsonConverter<TextInput>
{
    public override TextInput? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new TextInput([reader.GetString()!], false);
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("must be a string or an array of strings");
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String) throw new JsonException("must be a string or an array of strings");
            list.Add(reader.GetString()!);
        }
        return new TextInput(list, true);
    }

    public override void Write(Utf8JsonWriter writer, TextInput value, JsonSerializerOptions options)
    {
        if (!value.IsArray && value.Items.Count == 1)
        {
            writer.WriteStringValue(value.Items[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var s in value.Items) writer.WriteStringValue(s);
        writer.WriteEndArray();
    }
}

public sealed class EmbeddingValueConverter : JsonConverter<EmbeddingValue>
{
    public override EmbeddingValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return new EmbeddingValue(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reader.GetBytesFromBase64()).ToArray(), true);
        var list = new List<float>();
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("an embedding is an array of numbers or a base64 string");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) list.Add(reader.GetSingle());
        return new EmbeddingValue([.. list], false);
    }

    public override void Write(Utf8JsonWriter writer, EmbeddingValue value, JsonSerializerOptions options)
    {
        if (value.Base64)
        {
            writer.WriteBase64StringValue(System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.Values.AsSpan()));
            return;
        }
        writer.WriteStartArray();
        foreach (var v in value.Values) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ClassifyRequest))]
[JsonSerializable(typeof(ClassifyResponse))]
[JsonSerializable(typeof(ClassifyBatchResponse))]
[JsonSerializable(typeof(EmbedImageRequest))]
[JsonSerializable(typeof(EmbedTextRequest))]
[JsonSerializable(typeof(EmbedResponse))]
[JsonSerializable(typeof(OpenAiEmbeddingRequest))]
[JsonSerializable(typeof(OpenAiEmbeddingResponse))]
[JsonSerializable(typeof(IndexRequest))]
[JsonSerializable(typeof(IndexResponse))]
[JsonSerializable(typeof(IndexStats))]
[JsonSerializable(typeof(DeleteResponse))]
[JsonSerializable(typeof(SearchRequest))]
[JsonSerializable(typeof(SearchResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class ClipJson : JsonSerializerContext;
