using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class JournalBytes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "JournalBytes",
                table: "Simulations",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            // Simulations stored before the column: their journals' bytes, counted once here.
            migrationBuilder.Sql(
                "UPDATE \"Simulations\" SET \"JournalBytes\" = (SELECT COALESCE(SUM(LENGTH(CAST(\"PayloadJson\" AS BLOB))), 0) FROM \"Events\" WHERE \"Events\".\"RunId\" = \"Simulations\".\"Id\");");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "JournalBytes",
                table: "Simulations");
        }
    }
}
