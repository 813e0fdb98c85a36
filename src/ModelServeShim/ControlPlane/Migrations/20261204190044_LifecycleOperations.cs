using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelServeShim.ControlPlane.Migrations
{
    /// <inheritdoc />
    public partial class LifecycleOperations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "DeployInstanceId",
                table: "model_services",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Operation",
                table: "model_services",
                type: "TEXT",
                maxLength: 24,
                nullable: false,
                defaultValue: "Deploy");

            // Until now every service instance was a deploy pipeline's.
            migrationBuilder.Sql("UPDATE model_services SET DeployInstanceId = InstanceId;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "DeployInstanceId",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "Operation",
                table: "model_services");
        }
    }
}
