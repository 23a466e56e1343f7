using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Sqlite.Migrations
{
    /// <summary>
    /// The command log as a <c>WITHOUT ROWID</c> table clustered on its key (RunId, Seq), as the journal already is
    /// (EventsWithoutRowid): a rowid table keeps each command twice — the row in rowid order and its key, with the
    /// simulation's 36-character id, in the primary key's index — so every append writes two b-trees and a group commit
    /// a WAL frame for a page of each, and a rebuild reads the log through the index and then each row by rowid.
    /// SQLite only: the model is unchanged (EF Core has no annotation for it), so a later migration that rebuilds this
    /// table must keep <c>WITHOUT ROWID</c> by hand. PostgreSQL keeps its heap and primary-key index.
    /// </summary>
    public partial class CommandsWithoutRowid : Migration
    {
        private const string Columns = "\"RunId\", \"Seq\", \"AtNs\", \"Type\", \"PayloadJson\"";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) => Rebuild(migrationBuilder, " WITHOUT ROWID");

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) => Rebuild(migrationBuilder, "");

        private static void Rebuild(MigrationBuilder migrationBuilder, string options)
        {
            migrationBuilder.Sql($"""
                CREATE TABLE "ef_temp_Commands" (
                    "RunId" TEXT NOT NULL,
                    "Seq" INTEGER NOT NULL,
                    "AtNs" INTEGER NOT NULL,
                    "Type" TEXT NOT NULL,
                    "PayloadJson" TEXT NOT NULL,
                    CONSTRAINT "PK_Commands" PRIMARY KEY ("RunId", "Seq"),
                    CONSTRAINT "FK_Commands_Simulations_RunId" FOREIGN KEY ("RunId") REFERENCES "Simulations" ("Id") ON DELETE CASCADE
                ){options};
                """);
            migrationBuilder.Sql($"INSERT INTO \"ef_temp_Commands\" ({Columns}) SELECT {Columns} FROM \"Commands\";");
            migrationBuilder.Sql("DROP TABLE \"Commands\";");
            migrationBuilder.Sql("ALTER TABLE \"ef_temp_Commands\" RENAME TO \"Commands\";");
        }
    }
}
