namespace HailoFlorence;

/// <summary>How a task's generated text becomes its result.</summary>
public enum TaskOutput
{
    /// <summary>The text, special tokens removed (captions, OCR, the region-to-text tasks).</summary>
    Text,
    /// <summary>Phrases each followed by one or more groups of four locations: boxes with labels (OD, dense captions, grounding).</summary>
    Boxes,
    /// <summary>Texts each followed by eight locations: quadrilaterals with labels (OCR with regions).</summary>
    Quads,
}

/// <summary>One Florence-2 task: its token, the prompt Florence's processor expands it to, and its result's shape.</summary>
/// <param name="Token">The task token, e.g. &lt;CAPTION&gt;.</param>
/// <param name="Prompt">The natural-language prompt; {input} marks where the task's text input goes.</param>
public sealed record FlorenceTask(string Token, string Prompt, TaskOutput Output)
{
    /// <summary>The task takes a text input (grounding, open-vocabulary detection, the region tasks).</summary>
    public bool TakesInput => Prompt.Contains("{input}", StringComparison.Ordinal);

    /// <summary>The route name: the token without brackets, lower case (caption, ocr_with_region, …).</summary>
    public string RouteName => Token.Trim('<', '>').ToLowerInvariant();

    /// <summary>The prompt the model reads: the expansion, with <paramref name="input"/> in place for tasks that take one.</summary>
    public string BuildPrompt(string? input) => TakesInput ? Prompt.Replace("{input}", input ?? "", StringComparison.Ordinal) : Prompt;
}

/// <summary>
/// Florence-2's tasks as its processor (processing_florence2.py) expands them. A text that is not a task token is the
/// prompt itself (that is how a question reaches Florence-2 base, which has no VQA task token).
/// </summary>
public static class FlorenceTasks
{
    public static readonly FlorenceTask Caption = new("<CAPTION>", "What does the image describe?", TaskOutput.Text);
    public static readonly FlorenceTask DetailedCaption = new("<DETAILED_CAPTION>", "Describe in detail what is shown in the image.", TaskOutput.Text);
    public static readonly FlorenceTask MoreDetailedCaption = new("<MORE_DETAILED_CAPTION>", "Describe with a paragraph what is shown in the image.", TaskOutput.Text);
    public static readonly FlorenceTask Ocr = new("<OCR>", "What is the text in the image?", TaskOutput.Text);
    public static readonly FlorenceTask OcrWithRegion = new("<OCR_WITH_REGION>", "What is the text in the image, with regions?", TaskOutput.Quads);
    public static readonly FlorenceTask Od = new("<OD>", "Locate the objects with category name in the image.", TaskOutput.Boxes);
    public static readonly FlorenceTask DenseRegionCaption = new("<DENSE_REGION_CAPTION>", "Locate the objects in the image, with their descriptions.", TaskOutput.Boxes);
    public static readonly FlorenceTask RegionProposal = new("<REGION_PROPOSAL>", "Locate the region proposals in the image.", TaskOutput.Boxes);
    public static readonly FlorenceTask PhraseGrounding = new("<CAPTION_TO_PHRASE_GROUNDING>", "Locate the phrases in the caption: {input}", TaskOutput.Boxes);
    public static readonly FlorenceTask OpenVocabularyDetection = new("<OPEN_VOCABULARY_DETECTION>", "Locate {input} in the image.", TaskOutput.Boxes);
    public static readonly FlorenceTask RegionToCategory = new("<REGION_TO_CATEGORY>", "What is the region {input}?", TaskOutput.Text);
    public static readonly FlorenceTask RegionToDescription = new("<REGION_TO_DESCRIPTION>", "What does the region {input} describe?", TaskOutput.Text);
    public static readonly FlorenceTask RegionToOcr = new("<REGION_TO_OCR>", "What text is in the region {input}?", TaskOutput.Text);

    public static readonly IReadOnlyList<FlorenceTask> All =
    [
        Caption, DetailedCaption, MoreDetailedCaption, Ocr, OcrWithRegion, Od, DenseRegionCaption, RegionProposal,
        PhraseGrounding, OpenVocabularyDetection, RegionToCategory, RegionToDescription, RegionToOcr,
    ];

    /// <summary>A task by its token (&lt;OD&gt;) or route name (od), case-insensitive; null when there is none.</summary>
    public static FlorenceTask? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var n = name.Trim();
        foreach (var t in All)
            if (string.Equals(t.Token, n, StringComparison.OrdinalIgnoreCase) || string.Equals(t.RouteName, n, StringComparison.OrdinalIgnoreCase))
                return t;
        return null;
    }
}
