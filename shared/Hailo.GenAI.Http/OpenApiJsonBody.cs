using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Hailo.GenAI.Api;

/// <summary>
/// Describes a JSON request body in the OpenAPI document only. An endpoint that reads its body by hand (for 400s that
/// name the field at fault, and to take JSON under any content type as Ollama does) cannot declare it with
/// Accepts&lt;T&gt;: routing would then answer 415 to a body labelled otherwise (curl -d sends form-urlencoded).
/// The body type's JSON metadata must be in the HTTP JSON options (its JsonSerializerContext in the resolver chain).
/// </summary>
public static class OpenApiJsonBody
{
    public static RouteHandlerBuilder WithJsonBody<T>(this RouteHandlerBuilder builder)
    {
        builder.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, ct).ConfigureAwait(false);
            IOpenApiSchema body = schema;
            if (context.Document is { } document)
            {
                document.AddComponent(typeof(T).Name, schema);
                body = new OpenApiSchemaReference(typeof(T).Name, document);
            }
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = body } },
            };
        });
        return builder;
    }

    /// <summary>
    /// Names the properties of the wire contracts (<see cref="OllamaJson"/>, <see cref="OpenAiJson"/>) in the OpenAPI
    /// document as they go on the wire, snake_case: the document's schemas follow the HTTP JSON options, whose
    /// naming policy (camelCase) is not the contexts' own.
    /// </summary>
    public static void UseWireNames(OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type.Namespace == typeof(OllamaJson).Namespace && schema.Properties is { Count: > 0 } properties)
            {
                schema.Properties = properties.ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Key), p => p.Value);
                if (schema.Required is { Count: > 0 } required)
                    schema.Required = required.Select(JsonNamingPolicy.SnakeCaseLower.ConvertName).ToHashSet();
            }
            return Task.CompletedTask;
        });

    /// <summary>Describes a raw binary request body (a file upload) in the OpenAPI document.</summary>
    public static RouteHandlerBuilder WithBinaryBody(this RouteHandlerBuilder builder, string description)
    {
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/octet-stream"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                },
            };
            return Task.CompletedTask;
        });
        return builder;
    }
}
