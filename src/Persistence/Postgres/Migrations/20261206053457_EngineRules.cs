using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class EngineRules : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "EngineRules",
                table: "Simulations",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "EngineRules",
                table: "Simulations");
        }
    }
}
