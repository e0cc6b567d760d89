using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;

namespace Hailo.Hosting.Http;

/// <summary>
/// Declares an endpoint's multipart form (one file field plus text fields) and raw-file content types:
/// the content types feed the 415 check, the schema goes into the OpenAPI document.
/// </summary>
public static class OpenApiUpload
{
    public static RouteHandlerBuilder WithFileUpload(this RouteHandlerBuilder builder, string fileField, string[] rawContentTypes,
        params (string Name, string Description)[] fields)
    {
        builder.WithMetadata(new UploadAccepts(["multipart/form-data", .. rawContentTypes]));
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var form = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Required = new HashSet<string> { fileField },
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    [fileField] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "the file" },
                },
            };
            foreach (var (name, description) in fields)
                form.Properties[name] = new OpenApiSchema { Type = JsonSchemaType.String, Description = description };
            var body = operation.RequestBody as OpenApiRequestBody ?? new OpenApiRequestBody();
            body.Content ??= new Dictionary<string, OpenApiMediaType>();
            body.Content["multipart/form-data"] = new OpenApiMediaType { Schema = form };
            foreach (var type in rawContentTypes)
                body.Content[type] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
            operation.RequestBody = body;
            return Task.CompletedTask;
        });
        return builder;
    }

    private sealed class UploadAccepts(string[] types) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes { get; } = types;
        public Type? RequestType => null;
        public bool IsOptional => false;
    }
}
