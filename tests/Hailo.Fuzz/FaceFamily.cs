using System.Text;
using Hailo.Media;

namespace Hailo.Fuzz;

/// <summary>
/// hailo-face: the image routes (detect, embed, recognize, database/add) as multipart, JSON base64 or raw body; verify
/// with two images (JSON or multipart, one missing, repeated or broken); the JSON routes database/remove and
/// database/import; and the GET routes, against the generated SCRFD and ArcFace models of the API tests, with the
/// gallery in the scratch directory.
/// </summary>
public sealed class FaceFamily : Family
{
    private string _gallery = Path.Combine(Path.GetTempPath(), "hailo-face-fuzz-gallery.db");

    public override string Name => "face";
    public override string Service => "hailo-face";
    // A small gallery limit, as hailo-clip's index has: fuzzing adds without end, and the gallery is full (409) long
    // before a soak's second quarter, so what it holds does not pass for growth.
    public override string[] ExtraArgs => [.. base.ExtraArgs, "--gallery.path", _gallery, "--gallery.max_embeddings", "500"];
    public override ErrorShape Shape(string path) => ErrorShape.Project;

    public override string PrepareModels(string scratch)
    {
        Hailo.FaceService.Tests.FaceServiceFixture.WriteModels(scratch);
        _gallery = Path.Combine(scratch, "gallery.db");
        return scratch;
    }

    private static readonly string[] Names = ["ann", "Bob", "", "Unknown", "\u0001", "a/b", "名前", "  x  ", "null"];
    private static readonly string[] Boxes = ["200,100,130,160", "0,0,1,1", "-5,0,10,10", "1,2,3", "a,b,c,d", "0,0,0,0", "1e9,1e9,1,1", ""];
    private static readonly string[] Thresholds = ["0.4", "0", "1", "-1", "1.5", "NaN", "-0"];

    private static readonly ImageFamily[] ImageRoutes =
    [
        new("face", "hailo-face", "/v1/detect", [("threshold", Thresholds), ("return_landmarks", ["true", "false", "2"]), ("max_faces", ["1", "100", "0", "101"])]),
        new("face", "hailo-face", "/v1/embed", [("bbox", Boxes)]),
        new("face", "hailo-face", "/v1/recognize", [("threshold", Thresholds), ("max_faces", ["1", "100", "0", "101"])]),
        new("face", "hailo-face", "/v1/database/add", [("name", Names), ("bbox", Boxes)]),
    ];

    private static FuzzRequest Json(string path, string json) => new("POST", path, "application/json", Encoding.UTF8.GetBytes(json));

    private static readonly Lazy<(byte[] Png, byte[] Jpeg)> s_images = new(() =>
    {
        using var a = RgbaImage.Filled(640, 640, 220, 60, 60);
        using var b = RgbaImage.Filled(96, 64, 60, 60, 220);
        return (a.Encode(ImageFormat.Png), b.Encode(ImageFormat.Jpeg, 80));
    });

    private static readonly Lazy<FuzzRequest[]> s_seeds = new(() =>
    {
        var (png, jpeg) = s_images.Value;
        var b64 = Convert.ToBase64String(png);
        var (mp, body) = Multipart.Build([new Part("image", "a.png", "image/png", png), Part.Field("name", "ann")]);
        var (vmp, vbody) = Multipart.Build([new Part("image1", "a.png", "image/png", png), new Part("image2", "b.jpg", "image/jpeg", jpeg)]);
        var vector = Convert.ToBase64String(Hailo.Face.Embeddings.ToBytes(Enumerable.Range(0, 512).Select(i => i % 7 - 3f).ToArray()));
        return
        [
            new("POST", "/v1/detect", "image/png", png),
            Json("/v1/embed", $$"""{"image":"{{b64}}"}"""),
            new("POST", "/v1/database/add", mp, body),
            Json("/v1/database/add", $$"""{"name":"bob","image":"data:image/png;base64,{{b64}}"}"""),
            new("POST", "/v1/recognize?threshold=0.4", "image/png", png),
            Json("/v1/verify", $$"""{"image1":"{{b64}}","image2":"{{b64}}","threshold":0.5}"""),
            new("POST", "/v1/verify", vmp, vbody),
            new("GET", "/v1/database/list", null, []),
            new("GET", "/v1/database/export", null, []),
            Json("/v1/database/import", $$"""{"format":"hailo-face-gallery","version":1,"mode":"merge","identities":[{"name":"carol","embeddings":["{{vector}}"]}]}"""),
            Json("/v1/database/remove", """{"name":"carol"}"""),
        ];
    });

    public override IReadOnlyList<FuzzRequest> Seeds() => s_seeds.Value;

    public override FuzzRequest Generate(Mutator m)
    {
        switch (m.Next(10))
        {
            case < 5:
                return m.Pick(ImageRoutes).Generate(m);
            case 5:
            case 6:
                return Verify(m);
            case 7:
                return new FuzzRequest("GET", m.Pick(["/v1/database/list", "/v1/database/export", "/v1/models", "/health"]), null, []);
            default:
            {
                var seed = m.Pick(s_seeds.Value.Where(s => s.Path is "/v1/database/import" or "/v1/database/remove").ToArray());
                if (m.Chance(0.3) && seed.Path == "/v1/database/remove") return Json(seed.Path, $$"""{"name":"{{m.Pick(Names)}}"}""");
                return seed with { Body = m.Json(seed.Body), ContentType = MaybeContentType(m, seed.ContentType) };
            }
        }
    }

    private static FuzzRequest Verify(Mutator m)
    {
        var (png, jpeg) = s_images.Value;
        byte[] Image() => m.Chance(0.3) ? m.Bytes(m.Chance(0.5) ? png : jpeg, 6) : m.Chance(0.5) ? png : jpeg;
        if (m.Chance(0.5))
        {
            var parts = new List<Part>();
            if (!m.Chance(0.1)) parts.Add(new Part(m.Chance(0.9) ? "image1" : "image", "a.png", "image/png", Image()));
            if (!m.Chance(0.1)) parts.Add(new Part(m.Chance(0.9) ? "image2" : "image1", "b.jpg", "image/jpeg", Image()));
            if (m.Chance(0.3)) parts.Add(Part.Field("threshold", m.Chance(0.7) ? m.Pick(Thresholds) : ImageFamily.OddValue(m)));
            var (ct, body) = Multipart.Build(parts, m);
            return new FuzzRequest("POST", "/v1/verify", MaybeContentType(m, ct), body);
        }
        var o = new System.Text.Json.Nodes.JsonObject();
        if (!m.Chance(0.1)) o["image1"] = Convert.ToBase64String(Image());
        if (!m.Chance(0.1)) o["image2"] = m.Chance(0.1) ? "data:;base64,@@" : Convert.ToBase64String(Image());
        if (m.Chance(0.3)) o["threshold"] = m.Chance(0.5) ? System.Text.Json.Nodes.JsonValue.Create(m.Next(5) - 2.5) : ImageFamily.OddValue(m);
        var json = Encoding.UTF8.GetBytes(o.ToJsonString());
        return new FuzzRequest("POST", "/v1/verify", MaybeContentType(m, "application/json"), m.Chance(0.4) ? m.Json(json) : json);
    }
}
