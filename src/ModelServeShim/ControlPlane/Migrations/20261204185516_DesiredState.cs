using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelServeShim.ControlPlane.Migrations
{
    /// <inheritdoc />
    public partial class DesiredState : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "model_service_desired_state_changes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ServiceId = table.Column<string>(type: "TEXT", nullable: false),
                    Generation = table.Column<int>(type: "INTEGER", nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Operator = table.Column<string>(type: "TEXT", nullable: false),
                    Change = table.Column<string>(type: "TEXT", nullable: false),
                    StateJson = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_desired_state_changes", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "model_service_desired_states",
                columns: table => new
                {
                    ServiceId = table.Column<string>(type: "TEXT", maxLength: 110, nullable: false),
                    Generation = table.Column<int>(type: "INTEGER", nullable: false),
                    ModelFile = table.Column<string>(type: "TEXT", nullable: false),
                    ResourcesJson = table.Column<string>(type: "TEXT", nullable: false),
                    Replicas = table.Column<int>(type: "INTEGER", nullable: false),
                    Runtime = table.Column<string>(type: "TEXT", nullable: true),
                    Shimlet = table.Column<string>(type: "TEXT", nullable: false),
                    Namespace = table.Column<string>(type: "TEXT", nullable: true),
                    LabelsJson = table.Column<string>(type: "TEXT", nullable: true),
                    Pipeline = table.Column<string>(type: "TEXT", nullable: false),
                    PipelineVersion = table.Column<int>(type: "INTEGER", nullable: false),
                    QuantizationJson = table.Column<string>(type: "TEXT", nullable: true),
                    VerifyChecksums = table.Column<bool>(type: "INTEGER", nullable: true),
                    DryRun = table.Column<bool>(type: "INTEGER", nullable: true),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedBy = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_desired_states", x => x.ServiceId);
                    table.ForeignKey(
                        name: "FK_model_service_desired_states_model_services_ServiceId",
                        column: x => x.ServiceId,
                        principalTable: "model_services",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_model_service_desired_state_changes_ServiceId_Id",
                table: "model_service_desired_state_changes",
                columns: new[] { "ServiceId", "Id" });

            // Each service's desired state was its stored request plus the Replicas column (which a scale changed
            // and a redeploy ignored): the column wins, as the summary always showed it.
            migrationBuilder.Sql("""
                INSERT INTO model_service_desired_states
                    (ServiceId, Generation, ModelFile, ResourcesJson, Replicas, Runtime, Shimlet, Namespace, LabelsJson,
                     Pipeline, PipelineVersion, QuantizationJson, VerifyChecksums, DryRun, UpdatedAt, UpdatedBy)
                SELECT Id, 1, ModelFile, COALESCE(json_extract(RequestJson, '$.resourceRequirements'), '{}'), Replicas,
                       json_extract(RequestJson, '$.runtime'), Shimlet, Namespace, json_extract(RequestJson, '$.labels'),
                       Pipeline, 0, json_extract(RequestJson, '$.quantization'), json_extract(RequestJson, '$.verifyChecksums'),
                       json_extract(RequestJson, '$.dryRun'), UpdatedAt, CreatedBy
                FROM model_services;
                INSERT INTO model_service_desired_state_changes (ServiceId, Generation, At, Operator, Change, StateJson)
                SELECT Id, 1, UpdatedAt, CreatedBy, 'migrated from the stored deploy request', RequestJson FROM model_services;
                """);

            migrationBuilder.DropColumn(
                name: "AcceleratorCount",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "AcceleratorType",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "ModelFile",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "Namespace",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "Pipeline",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "Replicas",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "RequestJson",
                table: "model_services");

            migrationBuilder.DropColumn(
                name: "Shimlet",
                table: "model_services");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_service_desired_state_changes");

            migrationBuilder.DropTable(
                name: "model_service_desired_states");

            migrationBuilder.AddColumn<int>(
                name: "AcceleratorCount",
                table: "model_services",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "AcceleratorType",
                table: "model_services",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ModelFile",
                table: "model_services",
                type: "TEXT",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "Namespace",
                table: "model_services",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Pipeline",
                table: "model_services",
                type: "TEXT",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<int>(
                name: "Replicas",
                table: "model_services",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "RequestJson",
                table: "model_services",
                type: "TEXT",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "Shimlet",
                table: "model_services",
                type: "TEXT",
                nullable: false,
                defaultValue: "");
        }
    }
}
