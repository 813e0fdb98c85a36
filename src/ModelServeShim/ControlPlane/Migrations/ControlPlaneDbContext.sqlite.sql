CREATE TABLE IF NOT EXISTS "__control_plane_migrations" (
    "MigrationId" TEXT NOT NULL CONSTRAINT "PK___control_plane_migrations" PRIMARY KEY,
    "ProductVersion" TEXT NOT NULL
);

CREATE TABLE "model_service_transitions" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_model_service_transitions" PRIMARY KEY AUTOINCREMENT,
    "ServiceId" TEXT NOT NULL,
    "At" INTEGER NOT NULL,
    "From" TEXT NULL,
    "To" TEXT NOT NULL,
    "Reason" TEXT NOT NULL,
    "Operator" TEXT NOT NULL
);

CREATE TABLE "model_services" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_model_services" PRIMARY KEY,
    "ModelName" TEXT NOT NULL,
    "ModelFile" TEXT NOT NULL,
    "State" TEXT NOT NULL,
    "Shimlet" TEXT NOT NULL,
    "Pipeline" TEXT NOT NULL,
    "Namespace" TEXT NULL,
    "RequestJson" TEXT NOT NULL,
    "Replicas" INTEGER NOT NULL,
    "AcceleratorType" TEXT NULL,
    "AcceleratorCount" INTEGER NOT NULL,
    "InstanceId" TEXT NULL,
    "Endpoint" TEXT NULL,
    "CreatedBy" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    "LastErrorType" TEXT NULL,
    "LastError" TEXT NULL,
    "LastErrorStep" TEXT NULL,
    "Revision" INTEGER NOT NULL
);

CREATE INDEX "IX_model_service_transitions_ServiceId_Id" ON "model_service_transitions" ("ServiceId", "Id");

CREATE INDEX "IX_model_services_CreatedAt" ON "model_services" ("CreatedAt");

CREATE INDEX "IX_model_services_ModelName_State" ON "model_services" ("ModelName", "State");

INSERT INTO "__control_plane_migrations" ("MigrationId", "ProductVersion")
VALUES ('20261124201415_InitialControlPlane', '10.0.12');

CREATE TABLE "model_service_desired_state_changes" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_model_service_desired_state_changes" PRIMARY KEY AUTOINCREMENT,
    "ServiceId" TEXT NOT NULL,
    "Generation" INTEGER NOT NULL,
    "At" INTEGER NOT NULL,
    "Operator" TEXT NOT NULL,
    "Change" TEXT NOT NULL,
    "StateJson" TEXT NOT NULL
);

CREATE TABLE "model_service_desired_states" (
    "ServiceId" TEXT NOT NULL CONSTRAINT "PK_model_service_desired_states" PRIMARY KEY,
    "Generation" INTEGER NOT NULL,
    "ModelFile" TEXT NOT NULL,
    "ResourcesJson" TEXT NOT NULL,
    "Replicas" INTEGER NOT NULL,
    "Runtime" TEXT NULL,
    "Shimlet" TEXT NOT NULL,
    "Namespace" TEXT NULL,
    "LabelsJson" TEXT NULL,
    "Pipeline" TEXT NOT NULL,
    "PipelineVersion" INTEGER NOT NULL,
    "QuantizationJson" TEXT NULL,
    "VerifyChecksums" INTEGER NULL,
    "DryRun" INTEGER NULL,
    "UpdatedAt" INTEGER NOT NULL,
    "UpdatedBy" TEXT NOT NULL,
    CONSTRAINT "FK_model_service_desired_states_model_services_ServiceId" FOREIGN KEY ("ServiceId") REFERENCES "model_services" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_model_service_desired_state_changes_ServiceId_Id" ON "model_service_desired_state_changes" ("ServiceId", "Id");

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

CREATE TABLE "ef_temp_model_services" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_model_services" PRIMARY KEY,
    "CreatedAt" INTEGER NOT NULL,
    "CreatedBy" TEXT NOT NULL,
    "Endpoint" TEXT NULL,
    "InstanceId" TEXT NULL,
    "LastError" TEXT NULL,
    "LastErrorStep" TEXT NULL,
    "LastErrorType" TEXT NULL,
    "ModelName" TEXT NOT NULL,
    "Revision" INTEGER NOT NULL,
    "State" TEXT NOT NULL,
    "UpdatedAt" INTEGER NOT NULL
);

INSERT INTO "ef_temp_model_services" ("Id", "CreatedAt", "CreatedBy", "Endpoint", "InstanceId", "LastError", "LastErrorStep", "LastErrorType", "ModelName", "Revision", "State", "UpdatedAt")
SELECT "Id", "CreatedAt", "CreatedBy", "Endpoint", "InstanceId", "LastError", "LastErrorStep", "LastErrorType", "ModelName", "Revision", "State", "UpdatedAt"
FROM "model_services";

PRAGMA foreign_keys = 0;

DROP TABLE "model_services";

ALTER TABLE "ef_temp_model_services" RENAME TO "model_services";

PRAGMA foreign_keys = 1;

CREATE INDEX "IX_model_services_CreatedAt" ON "model_services" ("CreatedAt");

CREATE INDEX "IX_model_services_ModelName_State" ON "model_services" ("ModelName", "State");

INSERT INTO "__control_plane_migrations" ("MigrationId", "ProductVersion")
VALUES ('20261204185516_DesiredState', '10.0.12');

ALTER TABLE "model_services" ADD "DeployInstanceId" TEXT NULL;

ALTER TABLE "model_services" ADD "Operation" TEXT NOT NULL DEFAULT 'Deploy';

UPDATE model_services SET DeployInstanceId = InstanceId;

INSERT INTO "__control_plane_migrations" ("MigrationId", "ProductVersion")
VALUES ('20261204190044_LifecycleOperations', '10.0.12');

CREATE TABLE "model_service_health" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_model_service_health" PRIMARY KEY AUTOINCREMENT,
    "ServiceId" TEXT NOT NULL,
    "At" INTEGER NOT NULL,
    "Event" TEXT NOT NULL,
    "Healthy" INTEGER NOT NULL,
    "Phase" TEXT NOT NULL,
    "ReadyReplicas" INTEGER NOT NULL,
    "DesiredReplicas" INTEGER NOT NULL,
    "Message" TEXT NOT NULL,
    "Probes" INTEGER NOT NULL
);

CREATE INDEX "IX_model_service_health_ServiceId_Id" ON "model_service_health" ("ServiceId", "Id");

INSERT INTO "__control_plane_migrations" ("MigrationId", "ProductVersion")
VALUES ('20261204191220_HealthJournal', '10.0.12');

ALTER TABLE "model_service_desired_states" ADD "ChecksumsJson" TEXT NULL;

CREATE TABLE "model_file_checksums" (
    "Path" TEXT NOT NULL CONSTRAINT "PK_model_file_checksums" PRIMARY KEY,
    "Size" INTEGER NOT NULL,
    "ModifiedNs" INTEGER NOT NULL,
    "ChangedNs" INTEGER NOT NULL,
    "Inode" INTEGER NOT NULL,
    "Device" INTEGER NOT NULL,
    "Sha256" TEXT NOT NULL,
    "HashedAt" INTEGER NOT NULL
);

INSERT INTO "__control_plane_migrations" ("MigrationId", "ProductVersion")
VALUES ('20261204211111_PrivateLlmChecks', '10.0.12');

CREATE TABLE "server_events" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_server_events" PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "Data" TEXT NOT NULL,
    "Replica" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL
);

CREATE INDEX "IX_server_events_CreatedAt" ON "server_events" ("CreatedAt");

INSERT INTO "__control_plane_migrations" ("MigrationId", "ProductVersion")
VALUES ('20261204230531_ServerEvents', '10.0.12');

