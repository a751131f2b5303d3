using System.Globalization;
using System.Text.Json;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>Reading the tree vector files: numbers may be JSON numbers or decimal strings.</summary>
internal static class TreeVectorData
{
    public static uint U32(this JsonElement element, string property) => checked((uint)U64(element.GetProperty(property)));

    public static ulong U64(this JsonElement element, string property) => U64(element.GetProperty(property));

    public static ulong U64(this JsonElement element) => element.ValueKind == JsonValueKind.String
        ? ulong.Parse(element.GetString()!, CultureInfo.InvariantCulture)
        : element.GetUInt64();

    /// <summary>Case names for a vector file: "file.json #index".</summary>
    public static TheoryData<string> Cases(string fileName)
    {
        var data = new TheoryData<string>();
        var count = TestVectors.LoadMls(fileName).GetArrayLength();
        for (var i = 0; i < count; i++)
        {
            data.Add(CaseName(fileName, i));
        }

        return data;
    }

    public static string CaseName(string fileName, int index) => $"{fileName} #{index}";

    public static JsonElement Entry(JsonElement file, string caseName)
    {
        var index = int.Parse(caseName[(caseName.LastIndexOf('#') + 1)..], CultureInfo.InvariantCulture);
        return file[index];
    }
}
