using System.Text.Json.Nodes;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios;

public class ScenarioParserTests
{
    [Fact]
    public void Parse_Base_IsValidWithResolvedTimes()
    {
        var doc = ScenarioJson.ParseWith(_ => { }).Valid();

        Assert.Equal([0L, 1_000_000, 1_000_000, 101_000_000], doc.Steps.Select(s => s.At.Ns));
        Assert.Equal(ScenarioHostKind.Scripted, doc.Hosts[2].Kind);
        Assert.Equal(ScenarioLink.DefaultDelay, doc.Links[1].Delay);
        Assert.Equal(new ScenarioNat("nat1", 0xCB007101), Assert.Single(doc.Nats));
    }

    // ---- structure: unknown fields, duplicates, types, required fields, patterns

    [Fact]
    public void Parse_UnknownTopLevelField_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["bogus"] = 1).HasError("$.bogus", "unknown field");

    [Fact]
    public void Parse_UnknownNestedField_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Host("client")["mtu"] = 1500).HasError("$.hosts.client.mtu", "unknown field");

    [Fact]
    public void Parse_UnknownFieldInCheck_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "expect": { "sockets": [ { "socket": "c", "state": "CLOSED", "colour": 1 } ] } }""")
            .HasError("$.steps[4].expect.sockets[0].colour", "unknown field");

    [Fact]
    public void Parse_Dup2WithoutNewfd_ReportsRequired() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "dup2", "socket": "c" }""").HasError("$.steps[4].newfd", "required");

    [Fact]
    public void Parse_DupWithATimeout_ReportsNotAnArgument() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "dup", "socket": "c", "timeout": 5 }""").HasError("$.steps[4].timeout", "not an argument of dup");

    [Fact]
    public void Parse_PollTimeoutBelowMinusOne_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "poll", "socket": "c", "timeout": -2 }""").HasError("$.steps[4].timeout");

    [Fact]
    public void Parse_Dup2NewfdPastNrOpen_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "dup2", "socket": "c", "newfd": 1048576 }""").HasError("$.steps[4].newfd");

    [Fact]
    public void Parse_SetrlimitNegativeSoft_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "host": "server", "call": "setrlimit", "resource": "RLIMIT_NOFILE", "soft": -1 }""").HasError("$.steps[4].soft", "outside 0..");

    [Fact]
    public void Parse_SetrlimitOtherResource_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "host": "server", "call": "setrlimit", "resource": "RLIMIT_NPROC", "soft": 16 }""").HasError("$.steps[4].resource", "RLIMIT_NOFILE");

    [Fact]
    public void Parse_SetrlimitWithASocket_ReportsNotAnArgument() =>
        ScenarioJson.ParseWithStep("""{ "host": "server", "call": "setrlimit", "socket": "c", "resource": "RLIMIT_NOFILE", "soft": 16 }""")
            .HasError("$.steps[4].socket", "not an argument of setrlimit");

    [Fact]
    public void Parse_SetrlimitWithoutHard_HardIsSoft()
    {
        var step = (CallStep)ScenarioJson.ParseWithStep("""{ "host": "server", "call": "setrlimit", "resource": "RLIMIT_NOFILE", "soft": 16 }""").Valid().Steps[4];
        Assert.Equal((16L, 16L), (step.Soft, step.Hard));
    }

    [Fact]
    public void Parse_ConnectUnspecWithTo_ReportsTheCombination() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "connect", "socket": "c", "family": "AF_UNSPEC", "to": "server:80" }""")
            .HasError("$.steps[4].to", "cannot be combined with \"family\"");

    [Fact]
    public void Parse_ConnectWithAnotherFamily_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "connect", "socket": "c", "family": "AF_INET6" }""").HasError("$.steps[4].family", "AF_UNSPEC");

    [Fact]
    public void Parse_ConnectWithoutToOrFamily_ReportsRequired() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "connect", "socket": "c" }""").HasError("$.steps[4].to", "required");

    /// <summary>
    /// tester39 MEDIUM-3: 1,300,000 empty steps were 1,300,000 errors, a 157 MB answer. The first 1,000 are listed, in
    /// document order, then one entry at $ counting the rest.
    /// </summary>
    [Fact]
    public void Parse_ManyErrors_ListsTheFirstThousandAndCountsTheRest()
    {
        var json = "{\"name\":\"x\",\"hosts\":{\"a\":{\"address\":\"10.0.0.1\"}},\"steps\":[" + string.Join(",", Enumerable.Repeat("{}", 1500)) + "]}";

        var errors = ScenarioParser.Parse(json).Errors;

        Assert.Equal(1001, errors.Length);
        Assert.Equal("$.steps[999]", errors[999].Path);
        Assert.Equal(new ScenarioError("$", "500 more errors are not listed (only the first 1,000 are)"), errors[^1]);
    }

    [Fact]
    public void Parse_DuplicateKey_ReportsPath()
    {
        var json = ScenarioJson.Base.Replace("\"name\": \"base\",", "\"name\": \"base\", \"name\": \"again\",");
        ScenarioParser.Parse(json).HasError("$.name", "duplicate key");
    }

    [Fact]
    public void Parse_MissingRequiredField_ReportsPathOfField() =>
        ScenarioJson.ParseWith(d => d.Host("server").Remove("address")).HasError("$.hosts.server.address", "required");

    [Fact]
    public void Parse_WrongType_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["seed"] = "1").HasError("$.seed", "expected an integer");

    [Fact]
    public void Parse_BadScenarioName_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["name"] = "Bad Name").HasError("$.name");

    [Fact]
    public void Parse_NonIdentifierKey_UsesBracketPath() =>
        ScenarioJson.ParseWith(d => d["hosts"]!["my host"] = JsonNode.Parse("""{ "address": "10.0.0.9" }"""))
            .HasError("$.hosts[\"my host\"]", "not a host name");

    [Fact]
    public void Parse_IntegralNumber_IsAnInteger()
    {
        var doc = ScenarioJson.ParseWith(d => d.Step(0)["port"] = JsonValue.Create(80.0)).Valid();
        Assert.Equal(80, ((CallStep)doc.Steps[0]).Port);
    }

    // connect() takes port 0 as Linux does (tcp_v4_connect() checks no port): the SYN goes to port 0.
    [Theory]
    [InlineData("server:0", "server")]
    [InlineData("127.0.0.1:0", "127.0.0.1")]
    public void Parse_ConnectToPortZero_IsValid(string to, string host)
    {
        var doc = ScenarioJson.ParseWith(d => d.Step(1)["to"] = to).Valid();
        Assert.Equal(new HostPort(host, 0), ((CallStep)doc.Steps[1]).To);
    }

    [Theory]
    [InlineData("server:65536")]
    [InlineData("server:00")]
    [InlineData("10.0.0.2:65536")]
    public void Parse_ConnectToNoPort_ReportsPath(string to) =>
        ScenarioJson.ParseWith(d => d.Step(1)["to"] = to).HasError("$.steps[1].to", "port 0-65535");

    // listen()'s backlog is any int, as __sys_listen_socket() takes it (docs/kernel-check.md D49), as on the API.
    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void Parse_ListenBacklogAnyInt_IsKept(int backlog)
    {
        var doc = ScenarioJson.ParseWith(d => d.Step(0)["backlog"] = backlog).Valid();
        Assert.Equal(backlog, ((CallStep)doc.Steps[0]).Backlog);
    }

    [Fact]
    public void Parse_ListenBacklogPastInt_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Step(0)["backlog"] = 2147483648L).HasError("$.steps[0].backlog");

    [Fact]
    public void Parse_FractionalPort_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Step(0)["port"] = JsonValue.Create(80.5)).HasError("$.steps[0].port", "not an integer");

    [Fact]
    public void Parse_TrailingNewlineInDuration_IsRefused() =>
        ScenarioJson.ParseWith(d => d["links"]![0]!["delay"] = "10ms\n").HasError("$.links[0].delay");

    [Fact]
    public void Parse_MalformedJson_ReportsRoot()
    {
        var result = ScenarioParser.Parse("{ \"name\": ");
        Assert.Equal("$", Assert.Single(result.Errors).Path);
    }

    [Fact]
    public void Parse_StepWithTwoKinds_ReportsStep() =>
        ScenarioJson.ParseWithStep("""{ "kill": { "host": "client", "signal": "SIGKILL" }, "expect": { "sockets": [ { "socket": "c", "count": 0 } ] } }""")
            .HasError("$.steps[4]", "exactly one");

    [Fact]
    public void Parse_EmptyCheckObject_IsRefused() =>
        ScenarioJson.ParseWithStep("""{ "expect": { } }""").HasError("$.steps[4].expect", "must not be empty");

    [Fact]
    public void Parse_SeveralErrors_ReportsThemAll()
    {
        var result = ScenarioJson.ParseWith(d =>
        {
            d["bogus"] = true;
            d.Host("client")["address"] = "10.0.0.256";
            d.Step(3)["at"] = "soon";
        });
        result.HasError("$.bogus");
        result.HasError("$.hosts.client.address");
        result.HasError("$.steps[3].at");
    }

    // ---- hosts, NATs, addresses, links

    [Fact]
    public void Parse_UnknownHostInStep_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Step(1)["host"] = "nobody").HasError("$.steps[1].host", "unknown host");

    [Fact]
    public void Parse_UnknownNat_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Host("client")["behindNat"] = "nat9").HasError("$.hosts.client.behindNat", "unknown NAT");

    /// <summary>
    /// Duration text of the right syntax but past the clock's range is refused with that range, as the API refuses the
    /// same size in integer nanoseconds ("100000000h" is past long nanoseconds too; "1000000h" within them).
    /// </summary>
    [Theory]
    [InlineData("100000000h")]
    [InlineData("1000000h")]
    [InlineData("99999999999999999999999999999999s")]
    public void Parse_DurationPastTheClocksRange_SaysTheRange(string delay) =>
        ScenarioJson.ParseWith(d => d["links"]![0]!["delay"] = delay)
            .HasError("$.links[0].delay", "at most 3155760000000000000 ns (3155760000s, 100 years)");

    [Fact]
    public void Parse_DurationOfSubNanoseconds_IsNotARangeError() =>
        ScenarioJson.ParseWith(d => d["links"]![0]!["delay"] = "1.5ns").HasError("$.links[0].delay", "not a whole number of nanoseconds");

    [Fact]
    public void Parse_DuplicateAddress_ReportsSecondUse() =>
        ScenarioJson.ParseWith(d => d.Host("server")["address"] = "10.0.0.1").HasError("$.hosts.server.address", "already used");

    [Fact]
    public void Parse_AddressWithLeadingZero_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Host("server")["address"] = "10.0.0.02").HasError("$.hosts.server.address", "not an IPv4 address");

    [Fact]
    public void Parse_LinkToUnknownHost_ReportsItem() =>
        ScenarioJson.ParseWith(d => d["links"]![0]!["between"] = new JsonArray("client", "mars")).HasError("$.links[0].between[1]", "unknown host");

    [Fact]
    public void Parse_LinkLossAboveOne_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["links"]![0]!["loss"] = 1.5).HasError("$.links[0].loss");

    // ---- times

    [Fact]
    public void Parse_AbsoluteTimeBeforePreviousStep_ReportsAt() =>
        ScenarioJson.ParseWith(d => d.Step(2)["at"] = "0.5ms").HasError("$.steps[2].at", "never go backwards");

    [Fact]
    public void Parse_RelativeTimes_AddToPreviousStep()
    {
        var doc = ScenarioJson.ParseWithStep("""{ "at": "+1.5s", "expect": { "sockets": [ { "socket": "c", "count": 0 } ] } }""").Valid();
        Assert.Equal(new SimTime(1_601_000_000), doc.Steps[4].At);
    }

    [Fact]
    public void Parse_RelativeTimeBeyondEndOfTime_ReportsAt() =>
        ScenarioJson.ParseWithStep("""{ "at": "+9223372036.8s", "expect": { "sockets": [ { "socket": "c", "count": 0 } ] } }""")
            .HasError("$.steps[4].at");

    [Theory]
    [InlineData("99999999999999999999h")]
    [InlineData("~99999999999999999999h")]
    [InlineData("1s..99999999999999999999m")]
    public void Parse_HugeDuration_ReportsPathWithoutThrowing(string text)
    {
        ScenarioJson.ParseWith(d => d["runUntil"] = text.Replace("~", "").Replace("1s..", "")).HasError("$.runUntil");
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse($$"""{ "packets": [ { "flags": "S", "at": "{{text}}" } ] }"""))
            .HasError("$.expect.packets[0].at");
    }

    [Fact]
    public void Parse_NumberBeyondDouble_ReportsPath()
    {
        var json = ScenarioJson.Base.Replace("\"delay\": \"10ms\" }", "\"delay\": \"10ms\", \"loss\": 1e400 }");
        ScenarioParser.Parse(json).HasError("$.links[0].loss");
    }

    /// <summary>A second link between the same two hosts is refused whichever way round it names them; the pair is looked up, not scanned for.</summary>
    [Theory]
    [InlineData("client", "server")]
    [InlineData("server", "client")]
    public void Parse_SecondLinkOfAPair_ReportsItInEitherOrder(string a, string b) =>
        ScenarioJson.ParseWith(d => d["links"]!.AsArray().Add(JsonNode.Parse($$"""{ "between": ["{{a}}", "{{b}}"] }""")))
            .HasError("$.links[2]", $"{a} and {b} are already joined by another link");

    /// <summary>A link step changes a link the document has, named in either order; a pair without one is refused.</summary>
    [Fact]
    public void Parse_LinkStep_FindsItsLinkInEitherOrder()
    {
        ScenarioJson.ParseWithStep("""{ "at": "200ms", "link": { "between": ["server", "peer"], "loss": 1.0 } }""").Valid();
        ScenarioJson.ParseWithStep("""{ "at": "200ms", "link": { "between": ["client", "peer"], "loss": 1.0 } }""")
            .HasError("$.steps[4].link.between", "there is no link between client and peer");
    }

    [Fact]
    public void Parse_SubNanosecondDuration_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["runUntil"] = "0.5ns").HasError("$.runUntil", "nanoseconds");

    /// <summary>Valid JSON nested past the reader's 64 levels is that error, at the path of the first value past them (it was "not valid JSON").</summary>
    [Fact]
    public void Parse_NestedPast64Levels_ReportsTheLimitAtThePath()
    {
        var json = ScenarioJson.Base.Replace("\"name\": \"base\",", "\"name\": \"base\", \"description\": " + new string('[', 100_000) + new string(']', 100_000) + ",");

        var error = Assert.Single(ScenarioParser.Parse(json).Errors);

        Assert.Equal("$.description" + string.Concat(Enumerable.Repeat("[0]", 63)), error.Path);
        Assert.Equal(JsonNesting.Message, error.Message);
        // 64 levels are read: a description array 63 deep (levels 2–64) is only the wrong type.
        var deepest = ScenarioJson.Base.Replace("\"name\": \"base\",", "\"name\": \"base\", \"description\": " + new string('[', 63) + new string(']', 63) + ",");
        ScenarioParser.Parse(deepest).HasError("$.description", "expected a string");
    }

    [Fact]
    public void Parse_WorkloadRateOutOfRange_BoundsReadAsDecimals() =>
        ScenarioJson.ParseWithStep("""{ "workload": { "clients": ["client"], "server": "server", "rate": 0, "count": 1 } }""")
            .HasError("$.steps[4].workload.rate", "0 is outside [0.000001, 1000000000]");

    /// <summary>
    /// An out-of-range generatedClients is one problem, at the field (tester35 LOW-3): it was also "give client hosts or a
    /// count of generated clients" at the workload — the document had given a count — as the field read as none.
    /// </summary>
    [Theory]
    [InlineData(200_001)]
    [InlineData(0)]
    public void Parse_WorkloadGeneratedClientsOutOfRange_OneProblemAtTheField(int clients)
    {
        var error = Assert.Single(ScenarioJson.ParseWithStep(
            $$"""{ "workload": { "generatedClients": {{clients}}, "server": "server", "rate": 1, "count": 1 } }""").Errors);

        Assert.Equal("$.steps[4].workload.generatedClients", error.Path);
        Assert.Equal($"{clients} is outside 1..200000", error.Message);
    }

    /// <summary>
    /// A workload whose client is its server is refused at that client, as the API's POST …/workloads names it (tester38
    /// LOW-8: VALID, then a run error at the step, and the kernel run made it).
    /// </summary>
    [Fact]
    public void Parse_WorkloadWhoseClientIsItsServer_InvalidAtThatClient()
    {
        var error = Assert.Single(ScenarioJson.ParseWithStep(
            """{ "workload": { "clients": ["client", "server"], "server": "server", "port": 81, "rate": 1, "count": 1 } }""").Errors);

        Assert.Equal(("$.steps[4].workload.clients[1]", "a client cannot be the server"), (error.Path, error.Message));
    }

    /// <summary>
    /// A workload step before the previous workload's last arrival is refused at the step: the engine's run would refuse it
    /// (one workload runs at a time, and one is not done before its last arrival), so validate, run and kernel say INVALID
    /// alike (tester38 LOW-9: VALID, a run error, and the kernel ran both at once). At the last arrival it is read: whether
    /// the first has ended then is the run's to say. 3 connections at rate 10 arrive at 0, 100 and 200 ms.
    /// </summary>
    [Theory]
    [InlineData("199ms", true)]
    [InlineData("0ms", true)]
    [InlineData("200ms", true)] // at its last arrival: the connection just arrived is not done (tester39 LOW-5: VALID, and always a run error)
    [InlineData("201ms", false)]
    public void Parse_WorkloadStepBeforeThePreviousWorkloadsLastArrival_InvalidAtTheStep(string after, bool invalid)
    {
        var result = ScenarioJson.ParseWith(d =>
        {
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "workload": { "clients": ["client"], "server": "server", "port": 81, "rate": 10, "count": 3 } }"""));
            d["steps"]!.AsArray().Add(JsonNode.Parse($$"""{ "at": "+{{after}}", "workload": { "clients": ["client"], "server": "server", "port": 82, "rate": 10, "count": 1 } }"""));
        });

        if (!invalid)
        {
            Assert.True(result.IsValid, string.Join("; ", result.Errors));
            return;
        }
        var error = Assert.Single(result.Errors);
        Assert.Equal("$.steps[5]", error.Path);
        Assert.StartsWith("the workload of $.steps[4] is still running at ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("(its last connection starts at 301ms): one workload runs at a time; start this one after it ends", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The rule holds for the engine: a document read with it refused is refused by the run too (the step's run error), said in
    /// the scenario's terms — a scenario has no clock to advance (tester39 LOW-5: "advance the clock", the API's advice).
    /// </summary>
    [Theory]
    [InlineData("199ms", "300ms")]
    [InlineData("200ms", "301ms")]
    public void Run_AWorkloadStepTheReaderRefuses_TheEngineRefusesToo(string after, string at)
    {
        var doc = ScenarioParser.ParseStored(ScenarioJson.Base.Replace("""{ "at": "+100ms", "host": "client", "call": "close", "socket": "c" }""",
            """{ "at": "+100ms", "host": "client", "call": "close", "socket": "c" }, { "workload": { "clients": ["client"], "server": "server", "port": 81, "rate": 10, "count": 3 } }, """
            + $$"""{ "at": "+{{after}}", "workload": { "clients": ["client"], "server": "server", "port": 82, "rate": 10, "count": 1 } }""")).Document!;

        var run = ScenarioRunner.Run(doc);

        Assert.Contains(run.Errors, e => e.Path == "$.steps[5]" && e.Message == $"the workload of $.steps[4] is still running at {at}: one workload runs at a time;"
            + " start this step after it ends (or give that workload a shorter drainLimit)");
    }

    /// <summary>
    /// A workload step whose port the workload before it still holds (its server closed first: TIME-WAIT on server:81) is
    /// refused as bind() refuses it, and the run error says what a scenario's writer does — start the step later — not the
    /// API's "advance the clock", which a scenario has no step for.
    /// </summary>
    [Fact]
    public void Run_AWorkloadStepOnAPortTheLastOneStillHolds_RunErrorSaysStartTheStepLater()
    {
        var doc = ScenarioParser.Parse(ScenarioJson.Base.Replace("""{ "at": "+100ms", "host": "client", "call": "close", "socket": "c" }""",
            """{ "at": "+100ms", "host": "client", "call": "close", "socket": "c" }, { "workload": { "clients": ["client"], "server": "server", "port": 81, "rate": 10, "count": 1, "closeFirst": "server" } }, """
            + """{ "at": "+1s", "workload": { "clients": ["client"], "server": "server", "port": 81, "rate": 10, "count": 1 } }""")).Document!;

        var run = ScenarioRunner.Run(doc);

        Assert.Contains(run.Errors, e => e.Path == "$.steps[5]" && e.Message == "the workload's listener cannot bind server:81: bind() failed with EADDRINUSE, "
            + "another socket holds the port (a connection still closing, or a listener); start this step later (a later \"at\"), once it is closed, or use another port");
    }

    // ---- aliases

    [Fact]
    public void Parse_DuplicateAlias_ReportsAs() =>
        ScenarioJson.ParseWith(d => d.Step(2)["as"] = "c").HasError("$.steps[2].as", "already defined by $.steps[1]");

    [Fact]
    public void Parse_AliasUsedBeforeDefinition_ReportsSocket() =>
        ScenarioJson.ParseWith(d => d.Step(2)["socket"] = "s").HasError("$.steps[2].socket", "used before $.steps[2] defines it");

    [Fact]
    public void Parse_AliasOfInvalidStep_ReportsOnlyThatStep()
    {
        // Step 2 (accept, "as": "s") has a misspelt call; the later steps that use "s" are not blamed for it.
        var result = ScenarioJson.ParseWith(d =>
        {
            d.Step(2)["call"] = "acceptt";
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "host": "server", "call": "recv", "socket": "s" }"""));
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "expect": { "sockets": [ { "socket": "s", "state": "CLOSE-WAIT" } ] } }"""));
        });
        Assert.Equal(["$.steps[2].call"], result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void Parse_UnknownAlias_ReportsSocket() =>
        ScenarioJson.ParseWith(d => d.Step(3)["socket"] = "zz").HasError("$.steps[3].socket", "unknown socket alias");

    [Fact]
    public void Parse_AliasOfAnotherHost_ReportsSocket() =>
        ScenarioJson.ParseWith(d => d.Step(3)["socket"] = "s").HasError("$.steps[3].socket", "host \"server\"");

    [Fact]
    public void Parse_ExpectStepAliasDefinedLater_ReportsCheck()
    {
        var result = ScenarioJson.ParseWith(d => d["steps"]!.AsArray().Insert(1,
            JsonNode.Parse("""{ "at": "0ms", "expect": { "sockets": [ { "socket": "c", "state": "SYN-SENT" } ] } }""")));
        result.HasError("$.steps[1].expect.sockets[0].socket", "used before");
    }

    [Fact]
    public void Parse_FinalExpectDataAlias_MayNameAnyAliasButNoOther()
    {
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""{ "data": { "s": { "delivered": 0 } } }""")).Valid();
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""{ "data": { "zz": { "sent": 0 } } }"""))
            .HasError("$.expect.data.zz", "unknown socket alias");
    }

    // ---- scripted hosts and inject

    [Fact]
    public void Parse_InjectFromScriptedHost_IsValid()
    {
        var doc = ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 0, "win": 65535 } }""").Valid();
        var inject = Assert.IsType<InjectStep>(doc.Steps[4]);
        Assert.Equal((new HostPort("peer", 40000), Network.TcpFlags.Syn, 65535), (inject.From, inject.Flags, inject.Win!.Value));
    }

    [Fact]
    public void Parse_InjectFromLinuxHost_ReportsFrom() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "client:40000", "to": "server:80", "flags": "S", "seq": 0 } }""")
            .HasError("$.steps[4].inject.from", "not scripted");

    [Fact]
    public void Parse_RepeatedFlagLetter_ReportsFlags() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": "SS", "seq": 0 } }""")
            .HasError("$.steps[4].inject.flags");

    /// <summary>A SYN-ACK with CWR (ACE 0b010/0b011) puts an ECN-asking 6.18 client in AccECN mode (tcp_ecn_rcv_synack()): refused.</summary>
    [Theory]
    [InlineData("S.W")]
    [InlineData("S.EW")]
    public void Parse_InjectSynAckWithCwr_ReportsFlags(string flags) =>
        ScenarioJson.ParseWithStep($$"""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": "{{flags}}", "seq": 0, "ack": 1 } }""")
            .HasError("$.steps[4].inject.flags", "TCP_ECN_MODE_ACCECN");

    [Fact]
    public void Parse_InjectOptions_AreRead()
    {
        var doc = ScenarioJson.ParseWithStep("""
            { "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 0,
                          "options": { "mss": 1000, "wscale": 2, "sackOK": true, "ts": { "val": 7, "ecr": "echo" }, "sack": [ [10, 20] ] } } }
            """).Valid();
        var o = Assert.IsType<InjectStep>(doc.Steps[4]).Options!;
        Assert.Equal((1000, 2, true, new InjectTimestamp(7, 0, EchoLast: true)), (o.Mss, o.WindowScale, o.SackPermitted, o.Timestamp));
        Assert.Equal([new SeqRange(10, 20)], o.Sack.ToArray());
    }

    [Fact]
    public void Parse_InjectEcrWordOtherThanEcho_ReportsEcr() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 0, "options": { "ts": { "val": 1, "ecr": "last" } } } }""")
            .HasError("$.steps[4].inject.options.ts.ecr", "echo");

    [Fact]
    public void Parse_InjectFourSackBlocksBesideTimestamp_ReportsSack() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 0, "options": { "ts": { "val": 1 }, "sack": [ [1,2], [3,4], [5,6], [7,8] ] } } }""")
            .HasError("$.steps[4].inject.options.sack", "at most 3");

    [Fact]
    public void Parse_InjectSackBlockOfOneEdge_ReportsBlock() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 0, "options": { "sack": [ [1] ] } } }""")
            .HasError("$.steps[4].inject.options.sack[0]", "[left, right]");

    [Fact]
    public void Parse_InjectUnknownOption_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 0, "options": { "md5": 1 } } }""")
            .HasError("$.steps[4].inject.options.md5", "unknown field");

    [Fact]
    public void Parse_InjectMssZero_ReportsMss() =>
        ScenarioJson.ParseWithStep("""{ "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 0, "options": { "mss": 0 } } }""")
            .HasError("$.steps[4].inject.options.mss");

    /// <summary>A read-only option is the kernel's ENOPROTOOPT (sock_setsockopt()'s default case), a result as any errno.</summary>
    [Fact]
    public void Parse_SetsockoptOfReadOnlyOption_Valid() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_ERROR", "value": 0, "expect": { "result": "ENOPROTOOPT" } }""")
            .Valid();

    [Fact]
    public void Parse_SetsockoptCongestionModuleTheEngineDoesNotRun_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "TCP_CONGESTION", "value": "bbr" }""")
            .HasError("$.steps[4].value", "a congestion control the engine does not run");

    [Fact]
    public void Parse_CallValueArray_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "getpeername", "socket": "c", "expect": { "value": [1] } }""")
            .HasError("$.steps[4].expect.value");

    [Fact]
    public void Parse_CallOnScriptedHost_ReportsHost() =>
        ScenarioJson.ParseWithStep("""{ "host": "peer", "call": "listen", "port": 81 }""").HasError("$.steps[4].host", "scripted");

    // ---- link changes

    [Fact]
    public void Parse_LinkChange_ReadsDirection()
    {
        var doc = ScenarioJson.ParseWithStep("""{ "at": "5s", "link": { "between": ["server", "client"], "direction": "client->server", "loss": 1.0 } }""").Valid();
        var change = Assert.IsType<LinkStep>(doc.Steps[4]);
        Assert.Equal((new LinkDirection("client", "server"), 1.0), (change.Direction, change.Loss!.Value));
    }

    [Fact]
    public void Parse_LinkChangeWithoutLink_ReportsBetween() =>
        ScenarioJson.ParseWithStep("""{ "link": { "between": ["client", "peer"], "loss": 1.0 } }""")
            .HasError("$.steps[4].link.between", "no link between client and peer");

    [Fact]
    public void Parse_LinkChangeDirectionOfOtherHosts_ReportsDirection() =>
        ScenarioJson.ParseWithStep("""{ "link": { "between": ["client", "server"], "direction": "peer->server", "loss": 1 } }""")
            .HasError("$.steps[4].link.direction");

    [Fact]
    public void Parse_LinkChangeWithNothingToChange_ReportsLink() =>
        ScenarioJson.ParseWithStep("""{ "link": { "between": ["client", "server"] } }""").HasError("$.steps[4].link", "\"delay\", \"loss\" or \"lossBySegment\"");

    // ---- sysctls

    [Fact]
    public void Parse_UnknownSysctl_ReportsBracketPath() =>
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.tcp_bogus": 1 }"""))
            .HasError("$.hosts.client.sysctls[\"net.ipv4.tcp_bogus\"]", "unknown sysctl");

    [Theory]
    [InlineData("net.ipv4.tcp_fin_timeout", "8589935")]      // proc_dointvec_jiffies: INT_MAX / HZ
    [InlineData("net.ipv4.tcp_orphan_retries", "256")]       // proc_dou8vec_minmax
    [InlineData("net.ipv4.tcp_retries2", "-1")]              // proc_dou8vec_minmax
    [InlineData("net.ipv4.tcp_syn_retries", "0")]            // extra1 = 1
    [InlineData("net.core.wmem_max", "4607")]                // extra1 = SOCK_MIN_SNDBUF
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "-1")]     // msecs_to_jiffies of a negative int
    [InlineData("net.ipv4.tcp_tw_reuse", "3")]               // extra2 = 2
    [InlineData("net.ipv4.tcp_rmem", "\"0 87380 6291456\"")] // extra1 = 1
    [InlineData("net.ipv4.ip_local_port_range", "\"40000 30000\"")]
    public void Parse_SysctlValueTheKernelRefuses_ReportsPath(string name, string value) =>
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse($$"""{ "{{name}}": {{value}} }"""))
            .HasError($"$.hosts.client.sysctls[\"{name}\"]");

    [Theory]
    [InlineData("net.ipv4.tcp_fin_timeout", "8589934")]
    [InlineData("net.ipv4.tcp_fin_timeout", "-8589934")]
    [InlineData("net.ipv4.tcp_orphan_retries", "255")]
    [InlineData("net.core.wmem_max", "4608")]
    [InlineData("net.core.rmem_max", "2304")]
    [InlineData("net.ipv4.tcp_child_ehash_entries", "16777216")]
    [InlineData("net.ipv4.tcp_max_tw_buckets", "-1")]
    public void Parse_SysctlValueTheKernelAccepts_IsValid(string name, string value) =>
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse($$"""{ "{{name}}": {{value}} }""")).Valid();

    [Fact]
    public void Parse_PortRangeBelowUnprivilegedStart_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.ip_local_port_range": "1000 2000" }"""))
            .HasError("$.hosts.client.sysctls[\"net.ipv4.ip_local_port_range\"]", "ip_unprivileged_port_start");

    [Fact]
    public void Parse_PortRangeAfterLoweringUnprivilegedStart_IsValid() =>
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse(
            """{ "net.ipv4.ip_unprivileged_port_start": 500, "net.ipv4.ip_local_port_range": "1000 2000" }""")).Valid();

    [Fact]
    public void Parse_SysctlStepRaisingUnprivilegedStartAboveRange_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "sysctl": { "host": "server", "values": { "net.ipv4.ip_unprivileged_port_start": 40000 } } }""")
            .HasError("$.steps[4].sysctl.values[\"net.ipv4.ip_unprivileged_port_start\"]", "ipv4_privileged_ports");

    [Fact]
    public void Parse_SysctlStepAppliesAfterHostSysctls_PerHost()
    {
        // client lowered the port range, so raising its unprivileged start to 35000 is refused; server's is fine.
        var result = ScenarioJson.ParseWith(d =>
        {
            d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.ip_local_port_range": "30000 31000" }""");
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "sysctl": { "host": "server", "values": { "net.ipv4.ip_unprivileged_port_start": 32768 } } }"""));
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "sysctl": { "host": "client", "values": { "net.ipv4.ip_unprivileged_port_start": 32768 } } }"""));
        });
        Assert.Equal("$.steps[5].sysctl.values[\"net.ipv4.ip_unprivileged_port_start\"]", Assert.Single(result.Errors).Path);
    }

    /// <summary>
    /// A sysctl's value may be the text `sysctl -w` writes, read as the kernel reads it (proc_get_long(): "0x1e" is 30), or
    /// a JSON integer up to 2^64 − 1 for an unsigned long; what the kernel refuses is an error at the value's path.
    /// </summary>
    [Fact]
    public void Parse_SysctlAsKernelText_ReadAsTheKernelReadsIt()
    {
        var doc = ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse(
            """{ "net.ipv4.tcp_fin_timeout": "0x1e", "net.ipv4.tcp_rmem": " 8192\t65536", "net.ipv4.tcp_comp_sack_delay_ns": 18446744073709551615 }""")).Document!;
        Assert.Equal(new SysctlSetting[] { new("net.ipv4.tcp_fin_timeout", "0x1e"), new("net.ipv4.tcp_rmem", " 8192\t65536"),
            new("net.ipv4.tcp_comp_sack_delay_ns", "18446744073709551615") }, doc.Hosts.Single(h => h.Name == "client").Sysctls);
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.tcp_fin_timeout": "+30" }"""))
            .HasError("$.hosts.client.sysctls[\"net.ipv4.tcp_fin_timeout\"]", "net.ipv4.tcp_fin_timeout: '+30' is not an integer");
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.tcp_comp_sack_delay_ns": 18446744073709551616 }"""))
            .HasError("$.hosts.client.sysctls[\"net.ipv4.tcp_comp_sack_delay_ns\"]", "18446744073709551616 is outside");
    }

    [Fact]
    public void Parse_SysctlOnScriptedHost_ReportsPath() =>
        ScenarioJson.ParseWith(d => d.Host("peer")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.tcp_fin_timeout": 30 }"""))
            .HasError("$.hosts.peer.sysctls", "scripted");

    [Fact]
    public void Parse_TwRecycle_ExistsOnlyInLinux44()
    {
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.tcp_tw_recycle": 1 }"""))
            .HasError("$.hosts.client.sysctls[\"net.ipv4.tcp_tw_recycle\"]", "linux-4.4");
        var doc = ScenarioJson.ParseWith(d =>
        {
            d["kernel"] = "linux-4.4";
            d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.tcp_tw_recycle": 1 }""");
        }).Valid();
        Assert.Equal(KernelProfile.Linux44, doc.Kernel);
    }

    /// <summary>
    /// linux-4.4's tcp_tw_recycle is a proc_dointvec (net/ipv4/sysctl_net_ipv4.c, tcp_death_row.sysctl_tw_recycle): any int
    /// is taken and read back as written, and tcp_time_wait() / tcp_conn_request() test it for other than 0. A JSON integer
    /// and its text behave alike: the format took "5" and refused 5 (it narrowed the integer to 0/1).
    /// </summary>
    [Theory]
    [InlineData("5", "5", true)]
    [InlineData("\"5\"", "5", true)]
    [InlineData("-1", "-1", true)]
    [InlineData("\"-1\"", "-1", true)]
    [InlineData("\"0x10\"", "16", true)]
    [InlineData("2147483647", "2147483647", true)]
    [InlineData("0", "0", false)]
    [InlineData("\"-0\"", "0", false)]
    [InlineData("2147483648", null, false)]
    [InlineData("\"2147483648\"", null, false)]
    public void Parse_TwRecycleOnLinux44_AnIntegerAndItsTextAlike_AsProcDointvec(string json, string? readBack, bool on)
    {
        var parsed = ScenarioJson.ParseWith(d =>
        {
            d["kernel"] = "linux-4.4";
            d.Host("client")["sysctls"] = JsonNode.Parse($$"""{ "net.ipv4.tcp_tw_recycle": {{json}} }""");
        });
        if (readBack is null)
        {
            parsed.HasError("$.hosts.client.sysctls[\"net.ipv4.tcp_tw_recycle\"]");
            return;
        }
        var text = parsed.Valid().Hosts.Single(h => h.Name == "client").Sysctls.Single().Text;
        var sim = new Simulation(KernelProfile.Linux44, seed: 1);
        Assert.True(CommandApplier.Apply(sim, new AddHostCommand("client", "10.0.0.1", SimService.Domain.Network.HostKind.Linux, [new("net.ipv4.tcp_tw_recycle", text)])).IsOk);
        var sysctls = sim.FindHost("client")!.Sysctls;
        Assert.Equal((readBack, on), (sysctls.Format("net.ipv4.tcp_tw_recycle"), sysctls.TcpTwRecycle));
    }

    /// <summary>
    /// Until session 38 both were refused on linux-6 ("not simulated by kernel profile linux-6"), so a scenario setting
    /// either failed outright where Linux 6.18.44 takes them (packetdrill/workaround-signed-windows-*.pkt,
    /// adv-win-scale-obsolete-minus-31-windows-unchanged.pkt). linux-4.4 reads tcp_adv_win_scale in tcp_win_from_space(),
    /// which its profile does not model: refused there.
    /// </summary>
    [Fact]
    public void Parse_WorkaroundSignedWindowsAndAdvWinScale_TakenOnLinux6RefusedAdvWinScaleOnLinux44()
    {
        var client = ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse(
            """{ "net.ipv4.tcp_workaround_signed_windows": 1, "net.ipv4.tcp_adv_win_scale": -31 }""")).Valid().Hosts.Single(h => h.Name == "client");
        Assert.Equal(["net.ipv4.tcp_adv_win_scale", "net.ipv4.tcp_workaround_signed_windows"], client.Sysctls.Select(s => s.Name).Order());
        var legacy = new SimService.Domain.Tests.Fixtures.TwoHostHarness(profile: KernelProfile.Linux44).Sim;
        Assert.Equal("unknown sysctl 'net.ipv4.tcp_adv_win_scale' for kernel profile linux-4.4",
            legacy.SetSysctl("client", "net.ipv4.tcp_adv_win_scale", "1")?.Message);
        Assert.Null(legacy.SetSysctl("client", "net.ipv4.tcp_workaround_signed_windows", "1"));
    }

    /// <summary>
    /// tester41 MEDIUM-5: the format refused net.ipv4.ip_autobind_reuse ("unknown sysctl"), which linux-6 simulates and the
    /// API takes, so such a simulation could not be exported. The format takes every sysctl some profile simulates, and
    /// refuses one the document's profile lacks, and a name no profile has, in the API's own words (SysctlCatalog.NotSimulated).
    /// </summary>
    [Fact]
    public void Parse_SysctlOfTheProfile_TakenAsTheApiTakesIt_OtherwiseRefusedInTheApisWords()
    {
        var client = ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.ip_autobind_reuse": 1 }"""))
            .Valid().Hosts.Single(h => h.Name == "client");
        Assert.Equal(new SysctlSetting("net.ipv4.ip_autobind_reuse", "1"), Assert.Single(client.Sysctls));
        ScenarioJson.ParseWith(d =>
        {
            d["kernel"] = "linux-4.4";
            d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.ipv4.ip_autobind_reuse": 1 }""");
        }).HasError("$.hosts.client.sysctls[\"net.ipv4.ip_autobind_reuse\"]", "unknown sysctl 'net.ipv4.ip_autobind_reuse' for kernel profile linux-4.4");
        ScenarioJson.ParseWith(d => d.Host("client")["sysctls"] = JsonNode.Parse("""{ "net.core.rmem_default": 1 }"""))
            .HasError("$.hosts.client.sysctls[\"net.core.rmem_default\"]", "unknown sysctl 'net.core.rmem_default' for kernel profile linux-6");
    }

    // ---- calls

    [Fact]
    public void Parse_UnknownErrno_ReportsResult() =>
        ScenarioJson.ParseWith(d => d.Step(1)["expect"] = JsonNode.Parse("""{ "result": "ENOPE" }"""))
            .HasError("$.steps[1].expect.result", "errno");

    [Fact]
    public void Parse_ErrnoResult_IsRead()
    {
        var doc = ScenarioJson.ParseWith(d => d.Step(1)["expect"] = JsonNode.Parse("""{ "result": "EWOULDBLOCK", "returnsAfter": "~2s" }""")).Valid();
        var expect = ((CallStep)doc.Steps[1]).Expect!;
        Assert.Equal(("EWOULDBLOCK", "EAGAIN"), (expect.Result!.Value.Errno!.Value.Name, expect.Result.Value.Errno.Value.Canonical));
        Assert.Equal(CheckedDurationKind.Approximately, expect.ReturnsAfter!.Value.Kind);
    }

    [Fact]
    public void Parse_UnknownCall_ReportsCall() =>
        ScenarioJson.ParseWith(d => d.Step(3)["call"] = "shutdown_all").HasError("$.steps[3].call", "unknown value");

    [Fact]
    public void Parse_ArgumentTheCallDoesNotTake_ReportsArgument() =>
        ScenarioJson.ParseWith(d => d.Step(3)["port"] = 80).HasError("$.steps[3].port", "not an argument of close");

    [Fact]
    public void Parse_MissingCallArgument_ReportsArgument() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "shutdown", "socket": "c" }""").HasError("$.steps[4].how", "required");

    [Fact]
    public void Parse_ListenWithSocketAndPort_ReportsPort() =>
        ScenarioJson.ParseWithStep("""{ "host": "server", "call": "listen", "socket": "listener", "port": 81 }""")
            .HasError("$.steps[4].port", "cannot be combined with \"socket\"");

    [Fact]
    public void Parse_ListenWithoutSocketOrPort_ReportsStep() =>
        ScenarioJson.ParseWithStep("""{ "host": "server", "call": "listen" }""").HasError("$.steps[4]", "\"socket\" or \"port\"");

    [Fact]
    public void Parse_ConnectOnSocketWithBind_ReportsBind() =>
        ScenarioJson.ParseWith(d =>
        {
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "host": "client", "call": "socket", "as": "raw" }"""));
            d["steps"]!.AsArray().Add(JsonNode.Parse("""{ "host": "client", "call": "connect", "socket": "raw", "to": "server:80", "bind": { "port": 0 } }"""));
        }).HasError("$.steps[5].bind", "cannot be combined");

    [Fact]
    public void Parse_ConnectConvenienceBind_IsRead()
    {
        var doc = ScenarioJson.ParseWith(d => d.Step(1)["bind"] = JsonNode.Parse("""{ "port": 40000, "reuseaddr": true }""")).Valid();
        Assert.Equal(new BindOptions(40000, true), ((CallStep)doc.Steps[1]).Bind);
    }

    [Fact]
    public void Parse_LingerOptionWithIntegerValue_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_LINGER", "value": 1 }""")
            .HasError("$.steps[4].value", "expected an object");

    [Fact]
    public void Parse_LingerOnoffOutOfRange_ReportsOnoff() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_LINGER", "value": { "onoff": 2, "linger": 0 } }""")
            .HasError("$.steps[4].value.onoff");

    [Fact]
    public void Parse_TimevalOption_IsReadWithUsecUnchecked()
    {
        // tv_usec is not range-checked by the format: sock_set_timeout() answers EDOM, and a scenario may check that.
        var doc = ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_SNDTIMEO", "value": { "sec": 1, "usec": 1000000 } }""").Valid();
        Assert.Equal(new TimevalSockoptValue(1, 1_000_000), ((CallStep)doc.Steps[4]).Value);
    }

    [Fact]
    public void Parse_TimevalOptionWithoutUsec_ReportsUsec() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_RCVTIMEO", "value": { "sec": 1 } }""")
            .HasError("$.steps[4].value.usec");

    [Fact]
    public void Parse_TimevalOptionWithAnInteger_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_RCVTIMEO", "value": 5 }""")
            .HasError("$.steps[4].value", "expected an object");

    [Fact]
    public void Parse_LocalPortRange_IsReadAsLoAndHi()
    {
        var doc = ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "IP_LOCAL_PORT_RANGE", "value": { "lo": 40000, "hi": 0 } }""").Valid();
        Assert.Equal(new PortRangeSockoptValue(40000, 0), ((CallStep)doc.Steps[4]).Value);
    }

    [Fact]
    public void Parse_LocalPortRangeHiAbove65535_ReportsHi() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "IP_LOCAL_PORT_RANGE", "value": { "lo": 1, "hi": 70000 } }""")
            .HasError("$.steps[4].value.hi");

    [Fact]
    public void Parse_BindAddressNoPortTwo_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "IP_BIND_ADDRESS_NO_PORT", "value": 2 }""")
            .HasError("$.steps[4].value");

    [Fact]
    public void Parse_ReuseAddrValueTwo_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_REUSEADDR", "value": 2 }""")
            .HasError("$.steps[4].value");

    [Fact]
    public void Parse_ReusePort_ReadsTheFlagAndRefusesTwo()
    {
        var doc = ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_REUSEPORT", "value": 1 }""").Valid();
        Assert.Equal(SocketOption.SoReusePort, ((CallStep)doc.Steps[4]).Option);
        Assert.Equal(new IntSockoptValue(1), ((CallStep)doc.Steps[4]).Value);
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_REUSEPORT", "value": 2 }""")
            .HasError("$.steps[4].value");
    }

    [Fact]
    public void Parse_GetsockoptWithValue_ReportsValue() =>
        ScenarioJson.ParseWithStep("""{ "host": "client", "call": "getsockopt", "socket": "c", "option": "TCP_LINGER2", "value": 1 }""")
            .HasError("$.steps[4].value", "not an argument of getsockopt");

    [Fact]
    public void Parse_Kill_ReadsDefaultProcessAndSignal()
    {
        var doc = ScenarioJson.ParseWithStep("""{ "kill": { "host": "client", "signal": "SIGTERM" } }""").Valid();
        Assert.Equal(new KillStep(new SimTime(101_000_000), "$.steps[4]", "client", "app", KillSignal.Term), doc.Steps[4]);
    }

    [Fact]
    public void Parse_KillOnScriptedHost_ReportsHost() =>
        ScenarioJson.ParseWithStep("""{ "kill": { "host": "peer", "signal": "SIGKILL" } }""").HasError("$.steps[4].kill.host", "scripted");

    // ---- checks

    [Fact]
    public void Parse_SocketCheckWithSocketAndHost_ReportsHost() =>
        ScenarioJson.ParseWithStep("""{ "expect": { "sockets": [ { "socket": "c", "host": "client", "state": "CLOSED" } ] } }""")
            .HasError("$.steps[4].expect.sockets[0].host", "cannot be combined");

    [Fact]
    public void Parse_SocketCheckWithoutStateOrCount_ReportsCheck() =>
        ScenarioJson.ParseWithStep("""{ "expect": { "sockets": [ { "socket": "c" } ] } }""")
            .HasError("$.steps[4].expect.sockets[0]", "\"state\" or \"count\"");

    [Fact]
    public void Parse_UnknownState_ReportsState() =>
        ScenarioJson.ParseWithStep("""{ "expect": { "sockets": [ { "socket": "c", "state": "HALF-CLOSED" } ] } }""")
            .HasError("$.steps[4].expect.sockets[0].state", "unknown value");

    [Theory]
    [InlineData("ESTABLISHED", SocketStateName.Established)]
    [InlineData("ESTAB", SocketStateName.Established)]
    [InlineData("UNCONN", SocketStateName.Closed)]
    [InlineData("CLOSED", SocketStateName.Closed)]
    [InlineData("FIN-WAIT-1", SocketStateName.FinWait1)]
    [InlineData("FIN_WAIT_1", SocketStateName.FinWait1)]
    [InlineData("FIN_WAIT1", SocketStateName.FinWait1)]
    [InlineData("TIME_WAIT", SocketStateName.TimeWait)]
    public void Parse_StateSpellings_Normalize(string text, SocketStateName expected)
    {
        var doc = ScenarioJson.ParseWithStep($$"""{ "expect": { "sockets": [ { "socket": "c", "state": "{{text}}" } ] } }""").Valid();
        Assert.Equal(expected, ((ExpectStep)doc.Steps[4]).Expect.Sockets[0].State);
    }

    [Fact]
    public void Parse_SockAddrPatterns_AcceptEmptyPartsIpAndNat()
    {
        var doc = ScenarioJson.ParseWithStep("""
            { "expect": { "sockets": [
                { "host": "server", "local": ":80", "remote": "client:", "count": 1 },
                { "host": "server", "local": "10.0.0.2:80", "remote": "nat1:", "count": 0 },
                { "host": "server", "remote": ":", "count": 1 } ] } }
            """).Valid();
        var selectors = ((ExpectStep)doc.Steps[4]).Expect.Sockets.Select(s => (HostSelector)s.Selector).ToList();
        Assert.Equal(new SockAddrPattern(null, null, 80), selectors[0].Local);
        Assert.Equal(new SockAddrPattern("client", null, null), selectors[0].Remote);
        Assert.Equal(new SockAddrPattern(null, 0x0A000002, 80), selectors[1].Local);
        Assert.Equal(new SockAddrPattern(null, null, null), selectors[2].Remote);
    }

    [Fact]
    public void Parse_SockAddrOfUnknownHost_ReportsPath() =>
        ScenarioJson.ParseWithStep("""{ "expect": { "sockets": [ { "host": "server", "remote": "mars:80", "count": 0 } ] } }""")
            .HasError("$.steps[4].expect.sockets[0].remote", "unknown host");

    [Fact]
    public void Parse_CounterSpellings_Normalize()
    {
        var doc = ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse(
            """{ "counters": { "client": { "TcpExtTW": 1, "Tcp.OutRsts": 2, "TcpCurrEstab": 0, "TcpExt.TCPAbortOnData": 3 } } }""")).Valid();
        Assert.Equal(
            [new CounterName("TcpExt", "TW"), new CounterName("Tcp", "OutRsts"), new CounterName("Tcp", "CurrEstab"), new CounterName("TcpExt", "TCPAbortOnData")],
            doc.Expect!.State.Counters.Select(c => c.Counter));
    }

    [Fact]
    public void Parse_SameCounterTwoSpellings_ReportsSecond() =>
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""{ "counters": { "client": { "TcpExt.TW": 1, "TcpExtTW": 1 } } }"""))
            .HasError("$.expect.counters.client.TcpExtTW", "already checked");

    /// <summary>A counter name no Linux kernel has is an input error; a Linux counter the engine does not count is a failed check (runner).</summary>
    [Theory]
    [InlineData("TcpExt.Bogus", "$.expect.counters.client[\"TcpExt.Bogus\"]")]
    [InlineData("TcpExtBogus", "$.expect.counters.client.TcpExtBogus")]
    [InlineData("Tcp.Bogus", "$.expect.counters.client[\"Tcp.Bogus\"]")]
    public void Parse_CounterNoLinuxKernelHas_ReportsPath(string name, string path) =>
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse($$"""{ "counters": { "client": { "{{name}}": 0 } } }"""))
            .HasError(path, $"{name.Replace("TcpExtB", "TcpExt.B")} is not a Linux counter (no field of /proc/net/netstat's TcpExt or /proc/net/snmp's Tcp is named Bogus)");

    [Fact]
    public void Parse_BadCounterName_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""{ "counters": { "client": { "IpExt.InOctets": 1 } } }"""))
            .HasError("$.expect.counters.client[\"IpExt.InOctets\"]", "not a counter name");

    [Theory]
    [InlineData("sockstat", """{ "mars": { "tw": 0 } }""")]
    [InlineData("counters", """{ "mars": { "TcpExt.TW": 0 } }""")]
    [InlineData("dmesg", """{ "mars": [ "TCP: too many orphaned sockets" ] }""")]
    public void Parse_PerHostCheckOfUnknownHost_ReportsKey(string check, string value) =>
        ScenarioJson.ParseWith(d => d["expect"] = new JsonObject { [check] = JsonNode.Parse(value) })
            .HasError($"$.expect.{check}.mars", "unknown host");

    [Theory]
    [InlineData("sockstat", """{ "client": { } }""", "$.expect.sockstat.client")]
    [InlineData("counters", """{ }""", "$.expect.counters")]
    [InlineData("dmesg", """{ "client": [ ] }""", "$.expect.dmesg.client")]
    [InlineData("dmesg", """{ "client": [ "" ] }""", "$.expect.dmesg.client[0]")]
    public void Parse_EmptyPerHostCheck_ReportsPath(string check, string value, string path) =>
        ScenarioJson.ParseWith(d => d["expect"] = new JsonObject { [check] = JsonNode.Parse(value) }).HasError(path);

    [Fact]
    public void Parse_PacketChecks_AreRead()
    {
        var doc = ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""
            { "packetsExact": [ { "from": "client:40000", "to": "server", "flags": "S", "at": "1ms", "seq": 0, "len": 0 } ],
              "noPackets": [ { "flags": "R." } ] }
            """)).Valid();
        Assert.Equal(new PacketCheck(new PacketEndpoint("client", 40000), new PacketEndpoint("server", null), Network.TcpFlags.Syn,
            doc.Expect!.PacketsExact[0].At, 0, 0, null), doc.Expect.PacketsExact[0]);
        Assert.Equal(Network.TcpFlags.Rst | Network.TcpFlags.Ack, doc.Expect.NoPackets[0].Flags);
    }

    [Fact]
    public void Parse_PacketWithoutFlags_ReportsFlags() =>
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""{ "packets": [ { "from": "client" } ] }"""))
            .HasError("$.expect.packets[0].flags", "required");

    [Fact]
    public void Parse_ReversedCheckedRange_ReportsPath() =>
        ScenarioJson.ParseWith(d => d["expect"] = JsonNode.Parse("""{ "packets": [ { "flags": "F.", "at": "3s..1s" } ] }"""))
            .HasError("$.expect.packets[0].at", "low <= high");
}
