using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class JournalFiltersAndScenarios : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ScenarioJson",
                table: "Simulations",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Host",
                table: "Events",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "SocketId",
                table: "Events",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ScenarioJson",
                table: "Simulations");

            migrationBuilder.DropColumn(
                name: "Host",
                table: "Events");

            migrationBuilder.DropColumn(
                name: "SocketId",
                table: "Events");
        }
    }
}
