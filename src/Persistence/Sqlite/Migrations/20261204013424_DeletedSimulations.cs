using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SimService.Persistence.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class DeletedSimulations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "Deleted",
                table: "Simulations",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Deleted",
                table: "Simulations");
        }
    }
}
