using System.Runtime.InteropServices;

namespace Hailo.Runtime.Npu;

/// <summary>P/Invoke declarations of libhailo_shim (hailo_shim.h), resolved through <see cref="ShimLibrary"/>.</summary>
/// <remarks>
/// Functions that return <c>const char*</c> are declared as <c>byte*</c>: a <c>string</c> return would make the
/// generated marshaller free the pointer, and the shim's strings are static or per-thread buffers.
/// Close/free functions take a raw <c>nint</c> so SafeHandle.ReleaseHandle can call them on a closing handle.
/// </remarks>
internal static unsafe partial class NativeMethods
{
    private const string Lib = ShimLibrary.LibraryName;

    // ---------------------------------------------------------------- library
    [LibraryImport(Lib)] internal static partial int hs_abi_version();
    [LibraryImport(Lib)] internal static partial byte* hs_shim_version();
    [LibraryImport(Lib)] internal static partial byte* hs_backend_name();
    [LibraryImport(Lib)] internal static partial int hs_runtime_version(HsVersion* runtime, HsVersion* built);
    [LibraryImport(Lib)] internal static partial byte* hs_status_name(int status);
    [LibraryImport(Lib)] internal static partial byte* hs_last_error();

    [LibraryImport(Lib)] internal static partial HsModelParams hs_model_default_params();
    [LibraryImport(Lib)] internal static partial HsGenParams hs_gen_default_params();
    [LibraryImport(Lib)] internal static partial HsGenAiParams hs_genai_default_params();
    [LibraryImport(Lib)] internal static partial HsS2tParams hs_s2t_default_params();

    // ---------------------------------------------------------------- devices
    [LibraryImport(Lib)] internal static partial int hs_scan(HsDeviceId* ids, uint cap, uint* count);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_device_open(string? deviceId, out DeviceHandle dev);
    [LibraryImport(Lib)] internal static partial int hs_device_close(nint dev);
    [LibraryImport(Lib)] internal static partial int hs_device_identify(DeviceHandle dev, HsIdentity* identity);
    [LibraryImport(Lib)] internal static partial int hs_device_temperature(DeviceHandle dev, HsTemperature* temperature);
    [LibraryImport(Lib)] internal static partial int hs_device_health(DeviceHandle dev, HsHealth* health);
    [LibraryImport(Lib)] internal static partial int hs_device_power(DeviceHandle dev, float* watts);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_vdevice_open(string? groupId, out VDeviceHandle vdev);
    [LibraryImport(Lib)] internal static partial int hs_vdevice_close(nint vdev);

    // ---------------------------------------------------------------- vision
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_model_load(VDeviceHandle vdev, string hefPath, HsModelParams* parameters, out ModelHandle model);
    [LibraryImport(Lib)] internal static partial int hs_model_io_count(ModelHandle model, uint* nInputs, uint* nOutputs);
    [LibraryImport(Lib)] internal static partial int hs_model_io_info(ModelHandle model, int isOutput, uint index, HsIoInfo* info);
    [LibraryImport(Lib)] internal static partial int hs_model_quant_infos(ModelHandle model, int isOutput, uint index, HsQuant* quant, uint cap, uint* count);
    [LibraryImport(Lib)]
    internal static partial int hs_model_infer(ModelHandle model, void** inputs, nuint* inputSizes, uint nInputs,
        void** outputs, nuint* outputSizes, uint nOutputs, uint timeoutMs);
    [LibraryImport(Lib)] internal static partial int hs_model_unload(nint model);

    // ---------------------------------------------------------------- LLM
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_llm_create(VDeviceHandle vdev, string hefPath, HsGenAiParams* parameters, out LlmHandle llm);
    [LibraryImport(Lib)] internal static partial int hs_llm_generation_defaults(LlmHandle llm, HsGenParams* defaults);
    [LibraryImport(Lib)] internal static partial int hs_llm_context_info(LlmHandle llm, uint* maxContext, uint* usedContext);
    [LibraryImport(Lib)] internal static partial int hs_llm_prompt_template(LlmHandle llm, byte* buf, nuint cap, nuint* len);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_llm_tokenize(LlmHandle llm, string text, int* ids, nuint cap, nuint* count);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_llm_set_stop_tokens(LlmHandle llm, string stopTokensJson);
    [LibraryImport(Lib)] internal static partial int hs_llm_get_stop_tokens(LlmHandle llm, byte* buf, nuint cap, nuint* len);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_llm_generate_start(LlmHandle llm, HsGenParams* parameters, string? rawPrompt,
        string? messagesJson, string? toolsJson, out CompletionHandle completion);
    [LibraryImport(Lib)] internal static partial int hs_llm_clear_context(LlmHandle llm);
    [LibraryImport(Lib)] internal static partial int hs_llm_destroy(nint llm);

    // ---------------------------------------------------------------- completions
    [LibraryImport(Lib)]
    internal static partial int hs_completion_read(CompletionHandle completion, byte* buf, nuint cap, uint timeoutMs, nuint* len, int* genStatus);
    [LibraryImport(Lib)] internal static partial int hs_completion_abort(CompletionHandle completion);
    [LibraryImport(Lib)] internal static partial int hs_completion_free(nint completion);

    // ---------------------------------------------------------------- VLM
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_vlm_create(VDeviceHandle vdev, string hefPath, HsGenAiParams* parameters, out VlmHandle vlm);
    [LibraryImport(Lib)] internal static partial int hs_vlm_frame_spec(VlmHandle vlm, HsFrameSpec* spec);
    [LibraryImport(Lib)] internal static partial int hs_vlm_generation_defaults(VlmHandle vlm, HsGenParams* defaults);
    [LibraryImport(Lib)] internal static partial int hs_vlm_context_info(VlmHandle vlm, uint* maxContext, uint* usedContext);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_vlm_generate_start(VlmHandle vlm, HsGenParams* parameters, string messagesJson,
        void** frames, nuint* frameSizes, uint nFrames, out CompletionHandle completion);
    [LibraryImport(Lib)] internal static partial int hs_vlm_clear_context(VlmHandle vlm);
    [LibraryImport(Lib)] internal static partial int hs_vlm_destroy(nint vlm);

    // ---------------------------------------------------------------- Speech2Text
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int hs_s2t_create(VDeviceHandle vdev, string hefPath, out S2tHandle s2t);
    [LibraryImport(Lib)]
    internal static partial int hs_s2t_transcribe(S2tHandle s2t, float* pcm, nuint nSamples, HsS2tParams* parameters, out SegmentsHandle segments);
    [LibraryImport(Lib)] internal static partial int hs_s2t_destroy(nint s2t);
    [LibraryImport(Lib)] internal static partial int hs_segments_count(SegmentsHandle segments, uint* count);
    [LibraryImport(Lib)]
    internal static partial int hs_segment_get(SegmentsHandle segments, uint index, float* startSec, float* endSec, byte** text, nuint* textLen);
    [LibraryImport(Lib)] internal static partial int hs_segments_free(nint segments);

    // hs_fake_set_fault (hailo_shim_fake.h) is for tests only and not bound here: tests/Hailo.TestSupport calls it.
}
