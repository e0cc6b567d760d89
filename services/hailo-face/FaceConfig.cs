using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoFace;

/// <summary>hailo-face's config: the shared keys plus the `face` and `gallery` sections.</summary>
public sealed class FaceConfig : ServiceConfig
{
    public FaceSection Face { get; set; } = new();
    public GallerySection Gallery { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Face.Validate(errors);
        Gallery.Validate(errors);
    }
}

public sealed class FaceSection() : ImageModelChoice("face", () => FaceModels.Catalog, FaceModels.CpuDefault, FaceModels.NpuDefault,
    Hailo.Media.ImageDecoder.DefaultMaxPixels, maxAllowed: 500_000_000)
{
    /// <summary>Faces scoring lower are not detected.</summary>
    public double DetectionThreshold { get; set; } = 0.5;
    /// <summary>NMS IoU between faces.</summary>
    public double NmsThreshold { get; set; } = 0.4;
    /// <summary>A face whose best cosine similarity to a person reaches this is that person; below, "Unknown".</summary>
    public double RecognitionThreshold { get; set; } = 0.4;
    /// <summary>/v1/verify: two faces at least this similar are the same person.</summary>
    public double VerificationThreshold { get; set; } = 0.4;
    /// <summary>At most this many faces per image.</summary>
    public int MaxFaces { get; set; } = 10;
    /// <summary>Faces smaller than this many pixels are ignored.</summary>
    public int MinFaceSize { get; set; }

    internal void Validate(ConfigErrors errors)
    {
        ValidateModels(errors);
        if (DetectionThreshold is <= 0 or >= 1) errors.Add("face.detection_threshold", "must be between 0 and 1");
        if (NmsThreshold is <= 0 or > 1) errors.Add("face.nms_threshold", "must be greater than 0 and at most 1");
        if (RecognitionThreshold is < -1 or > 1) errors.Add("face.recognition_threshold", "must be a cosine similarity between -1 and 1");
        if (VerificationThreshold is < -1 or > 1) errors.Add("face.verification_threshold", "must be a cosine similarity between -1 and 1");
        if (MaxFaces is < 1 or > FaceLimits.MaxFaces) errors.Add("face.max_faces", $"must be between 1 and {FaceLimits.MaxFaces}");
        if (MinFaceSize is < 0 or > 10_000) errors.Add("face.min_face_size", "must be between 0 and 10000");
        ValidateMaxImagePixels(errors);
    }
}

public sealed class GallerySection
{
    /// <summary>The SQLite gallery file (WAL mode: its -wal and -shm files sit next to it); empty: gallery.db next to models.dir.</summary>
    public string Path { get; set; } = "";

    /// <summary>The file the gallery is in: <see cref="Path"/>, or gallery.db in the directory that holds the models directory.</summary>
    public string Resolve(string modelsDir) => string.IsNullOrWhiteSpace(Path)
        ? System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelsDir).TrimEnd('/')) ?? "/", "gallery.db")
        : Path;
    /// <summary>An identity keeps at most this many embeddings; adding more drops its oldest.</summary>
    public int MaxEmbeddingsPerIdentity { get; set; } = 10;
    /// <summary>Embeddings the gallery holds at most (about 2 KB of RAM each); adds beyond it get 409 gallery_full.</summary>
    public int MaxEmbeddings { get; set; } = 100_000;
    /// <summary>Also store the aligned 112×112 face crop of each added embedding (off: embeddings only).</summary>
    public bool StoreFaceImages { get; set; }
    /// <summary>Run VACUUM after a remove (shrinks the file; deleted data is overwritten either way).</summary>
    public bool VacuumOnRemove { get; set; }
    /// <summary>Copy the database next to itself before migrating it to a newer schema.</summary>
    public bool BackupOnUpgrade { get; set; } = true;

    internal void Validate(ConfigErrors errors)
    {
        if (MaxEmbeddingsPerIdentity is < 1 or > 1000) errors.Add("gallery.max_embeddings_per_identity", "must be between 1 and 1000");
        if (MaxEmbeddings is < 1 or > 10_000_000) errors.Add("gallery.max_embeddings", "must be between 1 and 10000000");
    }
}

public static class FaceLimits
{
    public const int MaxFaces = 100;
    public const int MaxNameLength = 200;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FaceConfig))]
internal sealed partial class FaceConfigJson : JsonSerializerContext;
