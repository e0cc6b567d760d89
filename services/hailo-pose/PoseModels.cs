using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoPose;

/// <summary>
/// The pose models this service knows. The HEFs come from Hailo's model zoo (no checksums are published, so none
/// is pinned). No registry this project can reach ships a YOLOv8-pose ONNX file, and Ultralytics publishes only
/// PyTorch weights, so the CPU models are "bring your own": export one and put it into the models directory.
/// </summary>
public static class PoseModels
{
    public const string CpuDefault = "yolov8s-pose";
    public const string NpuDefault = "yolov8s_pose";

    /// <summary>
    /// YOLOv8s-pose exported by Ultralytics (`yolo export model=yolov8s-pose.pt format=onnx imgsz=640`): input
    /// `images` [1, 3, 640, 640], output [1, 56, 8400]. No download address: copy the file into models.dir/yolov8s-pose/.
    /// </summary>
    public static readonly ModelManifest YoloV8sPoseOnnx = new(
        CpuDefault, Backend.Cpu,
        "YOLOv8s-pose ONNX export (bring your own: yolo export model=yolov8s-pose.pt format=onnx imgsz=640)",
        "AGPL-3.0 (Ultralytics weights)",
        [new ModelFile("yolov8s-pose.onnx", null, null, Unverified: true)]);

    /// <summary>YOLOv8n-pose, the smallest export: about 3× faster than s on a Pi's CPU, less accurate.</summary>
    public static readonly ModelManifest YoloV8nPoseOnnx = new(
        "yolov8n-pose", Backend.Cpu,
        "YOLOv8n-pose ONNX export (bring your own: yolo export model=yolov8n-pose.pt format=onnx imgsz=640)",
        "AGPL-3.0 (Ultralytics weights)",
        [new ModelFile("yolov8n-pose.onnx", null, null, Unverified: true)]);

    private const string Zoo = "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.1.0/hailo10h/";

    /// <summary>YOLOv8s-pose compiled for Hailo-10H (Hailo model zoo), 640×640, nine raw head outputs.</summary>
    public static readonly ModelManifest YoloV8sPoseHailo = new(
        NpuDefault, Backend.Npu,
        "YOLOv8s-pose compiled for Hailo-10H (Hailo model zoo HEF)",
        "AGPL-3.0 (Ultralytics weights), compiled by Hailo",
        [new ModelFile("yolov8s_pose.hef", null, null, Url: Zoo + "yolov8s_pose.hef", Unverified: true)]);

    /// <summary>YOLOv8m-pose compiled for Hailo-10H (the hailo-apps default), more accurate and slower than s.</summary>
    public static readonly ModelManifest YoloV8mPoseHailo = new(
        "yolov8m_pose", Backend.Npu,
        "YOLOv8m-pose compiled for Hailo-10H (Hailo model zoo HEF)",
        "AGPL-3.0 (Ultralytics weights), compiled by Hailo",
        [new ModelFile("yolov8m_pose.hef", null, null, Url: Zoo + "yolov8m_pose.hef", Unverified: true)]);

    public static readonly IReadOnlyList<ModelManifest> Catalog = [YoloV8sPoseOnnx, YoloV8nPoseOnnx, YoloV8sPoseHailo, YoloV8mPoseHailo];
}
