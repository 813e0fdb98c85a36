using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelServeShim.Workflows.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class DropCurrentStepsJson : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "CurrentStepsJson",
                table: "workflow_instances");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "CurrentStepsJson",
                table: "workflow_instances",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");
        }
    }
}
