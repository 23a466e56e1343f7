using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Sqlite.Migrations
{
    /// <summary>
    /// Journal pages (<c>JournalPageCodec</c>): a row of <c>Events</c> holds a page of events <c>Seq</c>..<c>LastSeq</c> in a
    /// binary encoding (<c>Page</c>) instead of one event as JSON, so <c>Type</c> and <c>PayloadJson</c> become nullable and
    /// <c>LastSeq</c>, <c>LastAtNs</c> and <c>Types</c> (a bit per event type) are added. SQLite cannot change a column's
    /// nullability, so the table is rebuilt — by hand, keeping <c>WITHOUT ROWID</c> (EventsWithoutRowid). The rows already
    /// stored stay one-event JSON rows, read as before (<c>LastSeq</c> = <c>Seq</c>, their type's bit); new ones are pages.
    /// <c>Page</c> is the last column, so a query that reads only the others does not read a page's overflow pages.
    /// Down drops the pages (an older build cannot read them) and rebuilds the old table.
    /// </summary>
    public partial class JournalPages : Migration
    {
        /// <summary>Each event type's bit (1 &lt;&lt; (code − 1), EventTypeMap) by its discriminator, as of this migration.</summary>
        internal const string TypeBits = """CASE "Type" WHEN 'segment-sent' THEN 1 WHEN 'segment-delivered' THEN 2 WHEN 'segment-dropped' THEN 4 WHEN 'segment-ignored' THEN 8 WHEN 'state-changed' THEN 16 WHEN 'timer-armed' THEN 32 WHEN 'timer-fired' THEN 64 WHEN 'timer-cancelled' THEN 128 WHEN 'call-issued' THEN 256 WHEN 'call-returned' THEN 512 WHEN 'kernel-logged' THEN 1024 WHEN 'data-delivered' THEN 2048 WHEN 'data-lost' THEN 4096 WHEN 'process-exited' THEN 8192 WHEN 'sysctl-changed' THEN 16384 WHEN 'link-changed' THEN 32768 ELSE 0 END""";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE TABLE "ef_temp_Events" (
                    "RunId" TEXT NOT NULL,
                    "Seq" INTEGER NOT NULL,
                    "WriteId" INTEGER NOT NULL DEFAULT 0,
                    "AtNs" INTEGER NOT NULL,
                    "LastSeq" INTEGER NOT NULL DEFAULT 0,
                    "LastAtNs" INTEGER NOT NULL DEFAULT 0,
                    "Types" INTEGER NOT NULL DEFAULT 0,
                    "Type" TEXT NULL,
                    "Host" TEXT NULL,
                    "SocketId" INTEGER NULL,
                    "PayloadJson" TEXT NULL,
                    "Page" BLOB NULL,
                    CONSTRAINT "PK_Events" PRIMARY KEY ("RunId", "Seq", "WriteId"),
                    CONSTRAINT "FK_Events_Simulations_RunId" FOREIGN KEY ("RunId") REFERENCES "Simulations" ("Id") ON DELETE CASCADE
                ) WITHOUT ROWID;
                """);
            migrationBuilder.Sql($"""
                INSERT INTO "ef_temp_Events" ("RunId", "Seq", "WriteId", "AtNs", "LastSeq", "LastAtNs", "Types", "Type", "Host", "SocketId", "PayloadJson")
                SELECT "RunId", "Seq", "WriteId", "AtNs", "Seq", "AtNs", {TypeBits}, "Type", "Host", "SocketId", "PayloadJson" FROM "Events";
                """);
            migrationBuilder.Sql("DROP TABLE \"Events\";");
            migrationBuilder.Sql("ALTER TABLE \"ef_temp_Events\" RENAME TO \"Events\";");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE TABLE "ef_temp_Events" (
                    "RunId" TEXT NOT NULL,
                    "Seq" INTEGER NOT NULL,
                    "WriteId" INTEGER NOT NULL DEFAULT 0,
                    "AtNs" INTEGER NOT NULL,
                    "Type" TEXT NOT NULL,
                    "Host" TEXT NULL,
                    "SocketId" INTEGER NULL,
                    "PayloadJson" TEXT NOT NULL,
                    CONSTRAINT "PK_Events" PRIMARY KEY ("RunId", "Seq", "WriteId"),
                    CONSTRAINT "FK_Events_Simulations_RunId" FOREIGN KEY ("RunId") REFERENCES "Simulations" ("Id") ON DELETE CASCADE
                ) WITHOUT ROWID;
                """);
            migrationBuilder.Sql("""
                INSERT INTO "ef_temp_Events" ("RunId", "Seq", "WriteId", "AtNs", "Type", "Host", "SocketId", "PayloadJson")
                SELECT "RunId", "Seq", "WriteId", "AtNs", "Type", "Host", "SocketId", "PayloadJson" FROM "Events" WHERE "Page" IS NULL;
                """);
            migrationBuilder.Sql("DROP TABLE \"Events\";");
            migrationBuilder.Sql("ALTER TABLE \"ef_temp_Events\" RENAME TO \"Events\";");
        }
    }
}
