namespace Wharf.Core.Naming;

/// <summary>Docker tags: <c>^[\w][\w.-]{0,127}$</c> with ASCII <c>\w</c> (docker-v1-protocol §2.3).</summary>
internal static class TagName
{
    public const int MaxLength = 128;

    public const string InvalidMessage = @"Invalid tag name (must match ^[\w][\w.-]{0,127}$)";

    public static bool IsValid(string? tag)
    {
        if (string.IsNullOrEmpty(tag) || tag.Length > MaxLength || !IsWord(tag[0]))
        {
            return false;
        }

        for (var i = 1; i < tag.Length; i++)
        {
            if (!IsWord(tag[i]) && tag[i] is not ('.' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWord(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';
}
