using System.Reflection;
using System.Reflection.Emit;
using System.Text;
using Wharf.Core.Naming;

namespace Wharf.Core.Tests.Architecture;

/// <summary>
/// Core's top-level namespaces (its folders: Naming, Json, Operations, Storage, Tree, Metadata,
/// Security, Docker, Lifecycle, Repositories, WebServer) form layers: no namespace depends,
/// directly or through others, on itself.
/// Dependencies are read from the compiled assembly: every type's base types, interfaces, attributes,
/// member signatures, locals and the types and members its method bodies name (nested and
/// compiler-generated types count for the type they are nested in). Constants are inlined by the
/// compiler and doc-comment references are not compiled, so neither is seen.
/// </summary>
public sealed class NamespaceLayersTests
{
    private const string Root = "Wharf.Core.";

    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void TopLevelNamespacesHaveNoCycle()
    {
        var edges = Dependencies(typeof(Digest).Assembly);
        var cycles = Cycles(edges);
        Assert.True(cycles.Count == 0, "Namespace cycles in Wharf.Core:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void ACycleIsReportedWithItsSteps()
    {
        var edges = new Dictionary<string, Dictionary<string, string>>
        {
            ["A"] = new() { ["B"] = "a uses b" },
            ["B"] = new() { ["C"] = "b uses c" },
            ["C"] = new() { ["A"] = "c uses a" },
        };

        var cycle = Assert.Single(Cycles(edges));
        Assert.Equal("A -> B -> C -> A\n    a uses b\n    b uses c\n    c uses a", cycle);
    }

    [Fact]
    public void TheReaderSeesSignaturesAndBodies()
    {
        var edges = Dependencies(typeof(Digest).Assembly);

        // ContentStore's signatures name Digest; every registry's body names the storage layer.
        Assert.Contains("Naming", edges["Storage"].Keys);
        Assert.Contains("Storage", edges["Docker"].Keys);
    }

    /// <summary>From namespace -> to namespace -> one example of the dependency.</summary>
    internal static Dictionary<string, Dictionary<string, string>> Dependencies(Assembly assembly)
    {
        var edges = new Dictionary<string, Dictionary<string, string>>();
        foreach (var type in assembly.GetTypes())
        {
            var from = TopLevel(type);
            if (from is null)
            {
                continue;
            }

            foreach (var (referenced, where) in References(type))
            {
                var to = TopLevel(referenced);
                if (to is null || to == from)
                {
                    continue;
                }

                if (!edges.TryGetValue(from, out var targets))
                {
                    edges[from] = targets = [];
                }

                targets.TryAdd(to, $"{Outermost(type).FullName}{where} uses {referenced.FullName}");
            }
        }

        return edges;
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    private static string? TopLevel(Type type)
    {
        while (type.HasElementType)
        {
            type = type.GetElementType()!;
        }

        if (type.IsGenericParameter)
        {
            return null;
        }

        var ns = Outermost(type).Namespace;
        if (ns is null || !ns.StartsWith(Root, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[Root.Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static List<(Type Type, string Where)> References(Type type)
    {
        var found = new List<(Type Type, string Where)>();
        void Add(Type? t, string where)
        {
            if (t is null)
            {
                return;
            }

            found.Add((t, where));
            if (t.HasElementType)
            {
                Add(t.GetElementType(), where);
            }

            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition(), where);
                foreach (var argument in t.GetGenericArguments())
                {
                    Add(argument, where);
                }
            }
        }

        void AddAttributes(IEnumerable<CustomAttributeData> attributes, string where)
        {
            foreach (var attribute in attributes)
            {
                Add(attribute.AttributeType, where);
            }
        }

        Add(type.BaseType, "");
        foreach (var face in type.GetInterfaces())
        {
            Add(face, "");
        }

        AddAttributes(type.CustomAttributes, "");
        foreach (var field in type.GetFields(Declared))
        {
            Add(field.FieldType, "." + field.Name);
            AddAttributes(field.CustomAttributes, "." + field.Name);
        }

        foreach (var property in type.GetProperties(Declared))
        {
            Add(property.PropertyType, "." + property.Name);
        }

        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            var where = "." + method.Name;
            if (method is MethodInfo info)
            {
                Add(info.ReturnType, where);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(parameter.ParameterType, where);
            }

            AddAttributes(method.CustomAttributes, where);
            var body = method.GetMethodBody();
            if (body is null)
            {
                continue;
            }

            foreach (var local in body.LocalVariables)
            {
                Add(local.LocalType, where);
            }

            foreach (var member in MembersNamed(method, body.GetILAsByteArray() ?? []))
            {
                switch (member)
                {
                    case Type t:
                        Add(t, where);
                        break;
                    case MethodBase called:
                        Add(called.DeclaringType, where);
                        if (called is MethodInfo { IsGenericMethod: true } generic)
                        {
                            foreach (var argument in generic.GetGenericArguments())
                            {
                                Add(argument, where);
                            }
                        }

                        break;
                    default:
                        Add(member.DeclaringType, where);
                        break;
                }
            }
        }

        return found;
    }

    /// <summary>The types, methods and fields a method body's instructions name.</summary>
    private static IEnumerable<MemberInfo> MembersNamed(MethodBase method, byte[] il)
    {
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            short value = il[i++];
            if (value == 0xFE)
            {
                value = unchecked((short)(0xFE00 | il[i++]));
            }

            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BitConverter.ToInt32(il, i));
                    break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    var token = BitConverter.ToInt32(il, i);
                    i += 4;
                    MemberInfo? member;
                    try
                    {
                        member = method.Module.ResolveMember(token, typeArguments, methodArguments);
                    }
                    catch (ArgumentException)
                    {
                        member = null;
                    }

                    if (member is not null)
                    {
                        yield return member;
                    }

                    break;
                default:
                    i += 4;
                    break;
            }
        }
    }

    /// <summary>One line per cycle found (each strongly connected group of two or more namespaces), with an example of each step.</summary>
    internal static List<string> Cycles(Dictionary<string, Dictionary<string, string>> edges)
    {
        var cycles = new List<string>();
        var reported = new HashSet<string>();
        foreach (var (from, targets) in edges.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            foreach (var to in targets.Keys.Order(StringComparer.Ordinal))
            {
                var back = Path(edges, to, from);
                if (back is null)
                {
                    continue;
                }

                var cycle = new List<string> { from };
                cycle.AddRange(back);
                var key = string.Join(" ", cycle.Skip(1).Order(StringComparer.Ordinal));
                if (!reported.Add(key))
                {
                    continue;
                }

                var text = new StringBuilder(string.Join(" -> ", cycle));
                for (var step = 0; step + 1 < cycle.Count; step++)
                {
                    text.Append("\n    ").Append(edges[cycle[step]][cycle[step + 1]]);
                }

                cycles.Add(text.ToString());
            }
        }

        return cycles;
    }

    /// <summary>The shortest path from <paramref name="start"/> to <paramref name="goal"/> (both included), or null.</summary>
    private static List<string>? Path(Dictionary<string, Dictionary<string, string>> edges, string start, string goal)
    {
        var previous = new Dictionary<string, string?> { [start] = null };
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var node))
        {
            if (node == goal)
            {
                var path = new List<string>();
                for (string? at = goal; at is not null; at = previous[at])
                {
                    path.Add(at);
                }

                path.Reverse();
                return path;
            }

            if (!edges.TryGetValue(node, out var next))
            {
                continue;
            }

            foreach (var to in next.Keys.Order(StringComparer.Ordinal))
            {
                if (previous.TryAdd(to, node))
                {
                    queue.Enqueue(to);
                }
            }
        }

        return null;
    }
}
