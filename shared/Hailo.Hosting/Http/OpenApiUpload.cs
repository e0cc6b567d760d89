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
        // Routing honours only the last accepts metadata, so merge every declaration into one.
        builder.Finally(endpoint =>
        {
            var declared = endpoint.Metadata.OfType<IAcceptsMetadata>().ToList();
            var types = declared.SelectMany(a => a.ContentTypes).Concat(["multipart/form-data", .. rawContentTypes]).Distinct().ToArray();
            // Without a JSON body type the API explorer would describe the body as System.Void, which has no JSON
            // metadata: the document would fail with a 500. A string stands in; the transformer below replaces the
            // multipart and raw entries, and a JSON type declared with Accepts<T> keeps its own schema.
            var requestType = declared.Select(a => a.RequestType).FirstOrDefault(t => t is not null) ?? typeof(string);
            foreach (var d in declared) endpoint.Metadata.Remove(d);
            endpoint.Metadata.Add(new UploadAccepts(types, requestType));
        });
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

    private sealed class UploadAccepts(string[] types, Type requestType) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes { get; } = types;
        public Type? RequestType { get; } = requestType;
        public bool IsOptional => false;
    }
}
