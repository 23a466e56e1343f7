using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Postgres.Migrations
{
    /// <summary>
    /// Journal pages (<c>JournalPageCodec</c>): a row of <c>Events</c> holds a page of events <c>Seq</c>..<c>LastSeq</c> in a
    /// binary encoding (<c>Page</c>) instead of one event as JSON. The rows already stored stay one-event JSON rows, read as
    /// before (<c>LastSeq</c> = <c>Seq</c>, their type's bit in <c>Types</c>); new ones are pages. Down drops the pages (an
    /// older build cannot read them).
    /// </summary>
    public partial class JournalPages : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "Type",
                table: "Events",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(64)",
                oldMaxLength: 64);

            migrationBuilder.AlterColumn<string>(
                name: "PayloadJson",
                table: "Events",
                type: "text",
                nullable: true,
                oldClrType: typeof(string),
                oldType: "text");

            migrationBuilder.AddColumn<long>(
                name: "LastAtNs",
                table: "Events",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "LastSeq",
                table: "Events",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<byte[]>(
                name: "Page",
                table: "Events",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Types",
                table: "Events",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.Sql($"""UPDATE "Events" SET "LastSeq" = "Seq", "LastAtNs" = "AtNs", "Types" = {TypeBits};""");
        }

        /// <summary>Each event type's bit (1 &lt;&lt; (code − 1), EventTypeMap) by its discriminator, as of this migration.</summary>
        internal const string TypeBits = """CASE "Type" WHEN 'segment-sent' THEN 1 WHEN 'segment-delivered' THEN 2 WHEN 'segment-dropped' THEN 4 WHEN 'segment-ignored' THEN 8 WHEN 'state-changed' THEN 16 WHEN 'timer-armed' THEN 32 WHEN 'timer-fired' THEN 64 WHEN 'timer-cancelled' THEN 128 WHEN 'call-issued' THEN 256 WHEN 'call-returned' THEN 512 WHEN 'kernel-logged' THEN 1024 WHEN 'data-delivered' THEN 2048 WHEN 'data-lost' THEN 4096 WHEN 'process-exited' THEN 8192 WHEN 'sysctl-changed' THEN 16384 WHEN 'link-changed' THEN 32768 ELSE 0 END""";

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DELETE FROM "Events" WHERE "Page" IS NOT NULL;""");

            migrationBuilder.DropColumn(
                name: "LastAtNs",
                table: "Events");

            migrationBuilder.DropColumn(
                name: "LastSeq",
                table: "Events");

            migrationBuilder.DropColumn(
                name: "Page",
                table: "Events");

            migrationBuilder.DropColumn(
                name: "Types",
                table: "Events");

            migrationBuilder.AlterColumn<string>(
                name: "Type",
                table: "Events",
                type: "character varying(64)",
                maxLength: 64,
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "character varying(64)",
                oldMaxLength: 64,
                oldNullable: true);

            migrationBuilder.AlterColumn<string>(
                name: "PayloadJson",
                table: "Events",
                type: "text",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "text",
                oldNullable: true);
        }
    }
}
