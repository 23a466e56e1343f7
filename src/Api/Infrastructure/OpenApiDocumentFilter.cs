using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using SimService.Api.Features.Commands;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SimService.Api.Infrastructure;

/// <summary>
/// Shapes the generated document for client generators (NSwag, Kiota) and schema validators:
/// <list type="bullet">
/// <item>batch commands: <c>CommandInput</c> with a discriminator whose mapping names every <c>type</c>;</item>
/// <item>problems: one <c>ProblemDetails</c> whose discriminator maps every problem type URN of
/// <see cref="ProblemTypes"/> to a schema of its own, and every 4xx response with an example;</item>
/// <item>the socket call requests are plain objects (each endpoint takes exactly one kind, no <c>type</c>);</item>
/// <item><c>servers</c>, tags in reading order, a description on every parameter, and int64 bounds written as integers.</item>
/// </list>
/// </summary>
public sealed class OpenApiDocumentFilter : IDocumentFilter
{
    /// <summary>The committed document's server: a local instance (dotnet run, docker compose up). A served document names the instance that served it.</summary>
    public const string LocalServer = "http://localhost:5080";

    public const string ServerDescription = "The instance that served this document (http://localhost:5080 for dotnet run and docker compose up).";

    private static readonly (string Name, string Description)[] Tags =
    [
        ("Simulations", "Create, list, read, replay, export and delete simulations: each is a command log and its journal."),
        ("Hosts", "Hosts, their sysctls and what the kernel shows of them (ss, /proc/net, counters, dmesg)."),
        ("Links", "The network paths between hosts: delay, loss, blackholes."),
        ("Sockets", "Socket system calls, made by a process on a host."),
        ("Connections", "A whole handshake in one request: listen (if needed), connect, accept."),
        ("Processes", "Kill a process: the kernel closes its descriptors."),
        ("Clock", "Move the virtual clock."),
        ("Commands", "Several commands in one request, all or nothing, and the command log."),
        ("Journal", "Everything that happened, in virtual time."),
        ("Scenarios", "Run a scenario document (docs/scenario-format.md)."),
        ("Workloads", "Many connections at once, described by a workload."),
        ("Outputs", "What a capture would show: pcap files and ladder diagrams."),
        ("Packetdrill", "Run packetdrill scripts against the simulated kernel."),
    ];

    /// <summary>The position of a tag in <see cref="Tags"/> (unknown tags last).</summary>
    public static int TagOrder(string? tag)
    {
        var index = Array.FindIndex(Tags, t => t.Name == tag);
        return index < 0 ? Tags.Length : index;
    }

    private static readonly Dictionary<string, string> ParameterDescriptions = new(StringComparer.Ordinal)
    {
        ["path:id"] = "The simulation's id, as POST /api/v1/simulations returned it.",
        ["path:host"] = "A host's name in the simulation.",
        ["path:socketId"] = "A socket's id in the simulation (a call's socketId).",
        ["path:callId"] = "A call's id (a call response's callId).",
        ["path:process"] = "A process name on the host.",
        ["path:from"] = "One end of the link (with oneWay: the sending end).",
        ["path:to"] = "The other end of the link.",
        ["query:host"] = "Only events of this host.",
        ["query:socketId"] = "Only events of this socket.",
        ["query:type"] = "Only events of these types (repeat the parameter, or separate with commas).",
        ["query:fromNs"] = "Only events at or after this virtual time (ns).",
        ["query:toNs"] = "Only events at or before this virtual time (ns).",
        ["query:afterSeq"] = "Only entries after this sequence number: the previous page's nextAfterSeq (-1: from the start).",
        ["query:limit"] = "The most entries to return.",
        ["query:info"] = "ss's -i: add the TCP internals of each socket.",
        ["query:extended"] = "ss's -e: add each socket's inode, cookie, cgroup and shutdown mask (full sockets; inode and cookie for TIME-WAIT and request sockets).",
        ["query:memory"] = "ss's -m: add each full socket's skmem:(r,rb,t,tb,f,w,o,bl,d), getsockopt(SO_MEMINFO)'s nine numbers.",
        ["query:socket"] = "Only this socket (repeat the parameter for several).",
        ["query:after"] = "Only simulations after this id: the previous page's next.",
        ["path:workloadId"] = "A workload's id, as its creation returned it.",
        ["query:atNs"] = "The virtual time (ns) to show the sockets at; default: now.",
        ["query:points"] = "How many evenly spaced sample times in [fromNs, toNs].",
        ["query:series"] = "false leaves the per-host time series out of the workload's outcome (the run and what it stores are the same); true by default.",
    };

    /// <summary>Members some problem types carry beyond RFC 9457's own (see <see cref="ErrorMapping"/>).</summary>
    private static readonly Dictionary<string, string[]> ProblemExtensions = new(StringComparer.Ordinal)
    {
        [ProblemTypes.Validation] = ["errors", "simulationId"],
        [ProblemTypes.InvalidScenario] = ["errors"],
        [ProblemTypes.InvalidScript] = ["errors"],
        [ProblemTypes.UnsupportedMediaType] = ["errors"],
        [ProblemTypes.SimulationNotFound] = ["errors", "simulationId"],
        [ProblemTypes.NotFound] = ["errors", "simulationId", "socketId"],
        [ProblemTypes.Conflict] = ["errors", "simulationId", "socketId"],
        [ProblemTypes.VersionMismatch] = ["errors", "simulationId", "currentVersion"],
        [ProblemTypes.WriteConflict] = ["simulationId"],
        [ProblemTypes.NotExportable] = ["errors", "simulationId", "commandSeq"],
        [ProblemTypes.WorkLimit] = ["errors", "simulationId"],
        [ProblemTypes.Unauthorized] = ["errors"],
        [ProblemTypes.RateLimited] = ["retryAfterSeconds"],
        [ProblemTypes.ServiceStopping] = ["simulationId", "retryAfterSeconds"],
        [ProblemTypes.Busy] = ["errors", "simulationId", "retryAfterSeconds"],
        [ProblemTypes.QuotaExceeded] = ["errors", "quota", "limit", "simulationId"],
        [ProblemTypes.CrossSiteRequest] = ["errors"],
        [ProblemTypes.RejectedRequest] = ["errors"],
    };

    /// <summary>One example per error status, as the service writes them.</summary>
    public static readonly Dictionary<string, string> ProblemExamples = new(StringComparer.Ordinal)
    {
        ["400"] = """{"type":"urn:simservice:problem:validation","title":"One or more validation errors occurred.","status":400,"instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/links","errors":{"loss":["The loss is a probability between 0 and 1."]}}""",
        ["404"] = """{"type":"urn:simservice:problem:simulation-not-found","title":"Simulation not found.","status":404,"detail":"There is no simulation with id '01a20b15-731b-7031-af62-fe6f69d15d9f'.","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f","simulationId":"01a20b15-731b-7031-af62-fe6f69d15d9f","errors":{"id":["There is no simulation with id '01a20b15-731b-7031-af62-fe6f69d15d9f'."]}}""",
        ["409"] = """{"type":"urn:simservice:problem:conflict","title":"The command conflicts with the simulation's state.","status":409,"detail":"host 'client' already exists","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/hosts","simulationId":"01a20b15-731b-7031-af62-fe6f69d15d9f","errors":{"name":["host 'client' already exists"]}}""",
        ["408"] = """{"type":"urn:simservice:problem:rejected-request","title":"The request body did not arrive in time.","status":408,"detail":"The request's body had not all arrived when the 10 s limit on one request's wall time (Limits:RequestSeconds) ran out; nothing was applied. The limit counts the time the body takes to arrive: its 3,890,256 bytes need at least 389,026 bytes a second, so send it faster or send less (a smaller body, or the work in several requests); the same upload sent again at the same rate runs out the same way.","instance":"/api/v1/scenarios/run","errors":{"$":["The request's body had not all arrived when the 10 s limit on one request's wall time (Limits:RequestSeconds) ran out; nothing was applied. The limit counts the time the body takes to arrive: its 3,890,256 bytes need at least 389,026 bytes a second, so send it faster or send less (a smaller body, or the work in several requests); the same upload sent again at the same rate runs out the same way."]}}""",
        ["413"] = """{"type":"urn:simservice:problem:rejected-request","title":"Content Too Large.","status":413,"detail":"The request body is larger than the server accepts: at most 4,194,304 bytes (Limits:MaxRequestBodyBytes).","instance":"/api/v1/scenarios/run","errors":{"$":["The request body is larger than the server accepts: at most 4,194,304 bytes (Limits:MaxRequestBodyBytes)."]}}""",
        ["415"] = """{"type":"urn:simservice:problem:unsupported-media-type","title":"Unsupported content coding.","status":415,"detail":"Request bodies are read as sent: a Content-Encoding (gzip, br, deflate, ...) is not supported. Send the body uncompressed.","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/advance","errors":{"Content-Encoding":["Request bodies are read as sent: a Content-Encoding (gzip, br, deflate, ...) is not supported. Send the body uncompressed."]}}""",
        ["401"] = """{"type":"urn:simservice:problem:unauthorized","title":"A valid API key is needed.","status":401,"detail":"Send your API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.","errors":{"Authorization":["Send your API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."]}}""",
        ["403"] = """{"type":"urn:simservice:problem:quota-exceeded","title":"The tenant's hosts quota would be exceeded.","status":403,"detail":"A simulation may have 64 hosts; this request would make 65. Nothing was stored.","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/hosts","quota":"hosts","limit":64,"simulationId":"01a20b15-731b-7031-af62-fe6f69d15d9f","errors":{"$":["A simulation may have 64 hosts; this request would make 65. Nothing was stored."]}}""",
        ["429"] = """{"type":"urn:simservice:problem:rate-limited","title":"Too many requests.","status":429,"detail":"This tenant sent more than its rate limit allows; retry after 1 s.","retryAfterSeconds":1}""",
        ["412"] = """{"type":"urn:simservice:problem:version-mismatch","title":"The simulation has changed.","status":412,"detail":"If-Match names version \"2\", not the simulation's current version, \"3\"; nothing was applied.","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/advance","simulationId":"01a20b15-731b-7031-af62-fe6f69d15d9f","currentVersion":3,"errors":{"If-Match":["If-Match names version \"2\", not the simulation's current version, \"3\"; nothing was applied."]}}""",
        ["422"] = """{"type":"urn:simservice:problem:work-limit","title":"The request needs more work than one request may do.","status":422,"detail":"The read ran longer than the 300 s limit on one request's wall time (Limits:HeavySeconds); it changed nothing. It replays the simulation's whole log, and this log takes longer than that to replay: the limit is the service's setting.","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/export","simulationId":"01a20b15-731b-7031-af62-fe6f69d15d9f","errors":{"$":["The read ran longer than the 300 s limit on one request's wall time (Limits:HeavySeconds); it changed nothing. It replays the simulation's whole log, and this log takes longer than that to replay: the limit is the service's setting."]}}""",
        ["503"] = """{"type":"urn:simservice:problem:service-stopping","title":"The service is stopping.","status":503,"detail":"The request's work was not run, or was cancelled, because the service is stopping; nothing was applied. Send it again in 5 s.","instance":"/api/v1/simulations/01a20b15-731b-7031-af62-fe6f69d15d9f/replay","simulationId":"01a20b15-731b-7031-af62-fe6f69d15d9f","retryAfterSeconds":5}""",
    };

    /// <summary>
    /// Fields of domain records the API answers with, described where the name alone leaves open what they count (the
    /// domain assembly carries no XML documentation for the document to read). tester39 LOW-6: a workload's
    /// <c>finished</c> counts connections and its <c>unfinished</c> sides — 10 for 5 connections the drain limit ended.
    /// </summary>
    public static readonly IReadOnlyDictionary<(string Schema, string Field), string> FieldDescriptions = new Dictionary<(string Schema, string Field), string>
    {
        [("WorkloadResult", "connections")] = "The connections the workload opens (its count, or its rate over its duration).",
        [("WorkloadResult", "started")] = "Connections started so far: arrivals whose client has made its socket and called connect().",
        [("WorkloadResult", "finished")] = "Connections whose client side has ended (its last call returned, or its connect() failed): "
            + "a count of connections, one each.",
        [("WorkloadResult", "unfinished")] = "Sides still open, not connections: a connection's client side and the server side its "
            + "accept() took count one each (0, 1 or 2 per connection). Once the workload ended, those open at its end (0 when "
            + "completed: 5 connections the drain limit ended all open say 10); while it runs, those open now.",
    };

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Servers = [new OpenApiServer { Url = LocalServer, Description = ServerDescription }];
        document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
        var schemas = document.Components!.Schemas!;
        Problems(document, schemas);
        Commands(document, schemas);
        FlattenCallRequests(schemas);
        foreach (var schema in schemas.Values) IntegerBounds(schema);
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>()) NullableReferences(schema);
        // A schema or field renamed would drop its description without a word (review39b N-5): the document is not made.
        foreach (var ((schemaName, field), text) in FieldDescriptions)
            if (schemas.TryGetValue(schemaName, out var owner) && owner.Properties is { } properties
                && properties.TryGetValue(field, out var found) && found is OpenApiSchema property)
                property.Description = text;
            else throw new InvalidOperationException($"the OpenAPI document has no field {schemaName}.{field} to describe: renamed? (OpenApiDocumentFilter.FieldDescriptions)");
        if (document.Paths.TryGetValue("/api/v1/simulations/{id}/export", out var export)
            && export.Operations?.Values.FirstOrDefault()?.Responses?["200"].Content?["application/json"] is OpenApiMediaType scenario)
            scenario.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "A scenario document (docs/scenario-format.md, JSON Schema docs/scenario.schema.json).",
                AdditionalPropertiesAllowed = true,
            };
        foreach (var (_, path) in document.Paths)
            foreach (var (_, operation) in path.Operations ?? [])
            {
                foreach (var parameter in operation.Parameters ?? [])
                {
                    if (parameter.Schema is { } parameterSchema) IntegerBounds(parameterSchema);
                    if (parameter is OpenApiParameter p && string.IsNullOrEmpty(p.Description)
                        && ParameterDescriptions.TryGetValue($"{p.In.ToString()!.ToLowerInvariant()}:{p.Name}", out var description))
                        p.Description = description;
                }
                if (operation.RequestBody?.Content is { } body)
                    foreach (var media in body.Values) if (media.Schema is { } s) IntegerBounds(s);
                foreach (var (status, response) in operation.Responses ?? [])
                {
                    if (status[0] is not ('4' or '5') || response.Content is null) continue;
                    foreach (var media in response.Content.Values.OfType<OpenApiMediaType>())
                    {
                        media.Schema = new OpenApiSchemaReference("ProblemDetails", document);
                        if (ProblemExamples.TryGetValue(status, out var example)) media.Example = JsonNode.Parse(example);
                    }
                }
            }
    }

    private static void Problems(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas)
    {
        schemas.Remove("HttpValidationProblemDetails");
        var mapping = new Dictionary<string, OpenApiSchemaReference>(StringComparer.Ordinal);
        foreach (var field in typeof(ProblemTypes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
        {
            var type = (string)field.GetRawConstantValue()!;
            var name = field.Name + "Problem";
            var extra = new OpenApiSchema { Type = JsonSchemaType.Object, Properties = new Dictionary<string, IOpenApiSchema>() };
            foreach (var member in ProblemExtensions.GetValueOrDefault(type) ?? []) extra.Properties[member] = Extension(member);
            schemas[name] = new OpenApiSchema
            {
                Description = field.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()?.Description
                    ?? $"A problem of type {type}.",
                AllOf = [new OpenApiSchemaReference("ProblemDetails", document), extra],
            };
            mapping[type] = new OpenApiSchemaReference(name, document);
        }
        schemas["ProblemDetails"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "An RFC 9457 problem. Its type (a URN) tells which problem it is and which members it carries.",
            Required = new HashSet<string> { "type", "title", "status" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The problem type: one of the urn:simservice:problem: URNs." },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A short summary of the problem type." },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "The HTTP status code." },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Description = "What went wrong with this request." },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Description = "The request path." },
                ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Description = "The W3C trace id of the request, for the logs." },
            },
            AdditionalPropertiesAllowed = true,
            Discriminator = new OpenApiDiscriminator { PropertyName = "type", Mapping = mapping },
        };
    }

    private static OpenApiSchema Extension(string member) => member switch
    {
        "errors" => new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Messages by the field at fault: a JSON name (\"seed\", \"commands[1].address\"), for scenarios a JSON path "
                + "(\"$.steps[3].at\"), a path, query or header parameter (\"id\", \"limit\", \"If-Match\"), or \"$\" for the request as a whole.",
            AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
        },
        "simulationId" => new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid", Description = "The simulation the request was about." },
        "currentVersion" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Description = "The simulation's version now: send it as If-Match to retry." },
        "commandSeq" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Description = "The command of the log that cannot be exported." },
        "socketId" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "The socket the refused call acted on." },
        "retryAfterSeconds" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "Seconds to wait before sending the request again (also the Retry-After header): until the tenant's bucket has a token again (429), about a restart (503)." },
        "quota" => new OpenApiSchema { Type = JsonSchemaType.String, Description = "The quota the request would exceed: simulations, hosts, sockets or journalBytes." },
        "limit" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Description = "The quota's limit." },
        _ => throw new ArgumentOutOfRangeException(nameof(member), member, null),
    };

    /// <summary>
    /// CommandInput: an object with a <c>type</c>, each derived schema an allOf of it (inheritance, as
    /// generators read it), and a discriminator mapping each <c>type</c> to its schema.
    /// </summary>
    private static void Commands(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas)
    {
        var mapping = CommandInput.Types.ToDictionary(t => t.Type, t => new OpenApiSchemaReference(t.Record.Name, document), StringComparer.Ordinal);
        var description = schemas.TryGetValue(nameof(CommandInput), out var old) ? old.Description : null;
        schemas[nameof(CommandInput)] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = description,
            Required = new HashSet<string> { "type" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "Which command: " + string.Join(", ", CommandInput.Types.Select(t => t.Type)) + ".",
                    Enum = [.. CommandInput.Types.Select(t => (JsonNode)JsonValue.Create(t.Type))],
                },
            },
            Discriminator = new OpenApiDiscriminator { PropertyName = "type", Mapping = mapping },
        };
        foreach (var (_, record) in CommandInput.Types)
            if (schemas[record.Name] is OpenApiSchema derived)
            {
                // additionalProperties: false beside allOf would refuse the base's "type" (JSON Schema has no inheritance).
                foreach (var part in (derived.AllOf ?? []).OfType<OpenApiSchema>().Append(derived))
                {
                    part.AdditionalPropertiesAllowed = true;
                    part.AdditionalProperties = null;
                }
                if (derived.AllOf?.OfType<OpenApiSchemaReference>().Any() != true)
                    derived.AllOf = [new OpenApiSchemaReference(nameof(CommandInput), document), .. derived.AllOf ?? []];
            }
        if (schemas.TryGetValue(nameof(ApplyCommandsRequest), out var batch) && batch.Properties?["commands"] is OpenApiSchema commands)
            commands.Items = new OpenApiSchemaReference(nameof(CommandInput), document);
    }

    /// <summary>
    /// Each socket call endpoint takes one kind of request, with no <c>type</c>: the requests are plain objects
    /// (the shared <c>process</c> member copied into each), not subtypes of a polymorphic CallRequest.
    /// </summary>
    private static void FlattenCallRequests(IDictionary<string, IOpenApiSchema> schemas)
    {
        if (!schemas.TryGetValue("CallRequest", out var callRequest)) return;
        var process = callRequest.Properties?["process"];
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>())
        {
            if (schema.AllOf is not { Count: 1 } allOf || allOf[0] is not OpenApiSchemaReference { Reference.Id: "CallRequest" }) continue;
            schema.AllOf = null;
            schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
            if (process is not null)
                schema.Properties = new Dictionary<string, IOpenApiSchema> { ["process"] = process }
                    .Concat(schema.Properties).ToDictionary(p => p.Key, p => p.Value);
        }
        schemas.Remove("CallRequest");
    }

    /// <summary>
    /// A property that refers to another schema and is not required may be null (Swashbuckle drops "nullable"
    /// beside a $ref, which OpenAPI 3.0 ignores there): written as a nullable allOf of the reference.
    /// </summary>
    private static void NullableReferences(OpenApiSchema schema)
    {
        if (schema.Properties is null) return;
        foreach (var (name, property) in schema.Properties.ToList())
            if (property is OpenApiSchemaReference reference && schema.Required?.Contains(name) != true)
                schema.Properties[name] = new OpenApiSchema { Type = JsonSchemaType.Null, AllOf = [reference] };
        foreach (var part in (schema.AllOf ?? []).OfType<OpenApiSchema>()) NullableReferences(part);
    }

    /// <summary>Range(…, long.MaxValue) comes out as 9.223372036854776E+18, a float; write int64's bound exactly.</summary>
    private static void IntegerBounds(IOpenApiSchema schema)
    {
        if (schema is not OpenApiSchema s) return;
        if (s.Type?.HasFlag(JsonSchemaType.Integer) == true)
        {
            if (s.Maximum is { } max && max.Contains('E', StringComparison.OrdinalIgnoreCase)) s.Maximum = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (s.Minimum is { } min && min.Contains('E', StringComparison.OrdinalIgnoreCase)) s.Minimum = long.MinValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var p in s.Properties?.Values ?? []) IntegerBounds(p);
        if (s.Items is { } items) IntegerBounds(items);
    }
}
