// weft on Azure Container Apps with a user-assigned managed identity that
// is granted "Cognitive Services OpenAI User" on the Azure OpenAI account
// (Entra ID, no API key), Azure Cache for Redis for the shared cache and
// rate limits, and Azure Database for PostgreSQL for run records.
//
//   az deployment group create -g RG -f deploy/azure/main.bicep \
//     -p openAIAccountName=NAME apiKeyHash="$(weft keys hash "$KEY")" \
//        redisUrl='rediss://:PASSWORD@NAME.redis.cache.windows.net:6380/0' \
//        runsStore='postgres://weft:PASSWORD@NAME.postgres.database.azure.com:5432/weft?sslmode=require'
//
// deploy/test parses this file structurally (TestBicep); docs/production.md#azure.

@description('Location of every resource.')
param location string = resourceGroup().location

@description('Name prefix of the resources.')
param name string = 'weft'

@description('The container image (built from the Dockerfile, target weft or weft-node).')
param image string = 'ghcr.io/weft-dev/weft:latest'

@description('The existing Azure OpenAI (Cognitive Services) account weft calls.')
param openAIAccountName string

@description('The Azure OpenAI deployment of the planner model.')
param plannerDeployment string = 'gpt-4o'

@description('sha256:<hex> of the API key clients send (weft keys hash).')
@secure()
param apiKeyHash string

@description('Azure Cache for Redis URL (rediss://:PASSWORD@HOST:6380/0).')
@secure()
param redisUrl string

@description('Azure Database for PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB?sslmode=require).')
@secure()
param runsStore string

// Cognitive Services OpenAI User: call the inference APIs, nothing else.
var openAIUserRoleId = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-identity'
  location: location
}

resource openAI 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAIAccountName
}

resource openAIUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAI.id, identity.id, openAIUserRoleId)
  scope: openAI
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAIUserRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: env.id
    configuration: {
      ingress: {
        external: true
        targetPort: 8080
        transport: 'auto'
      }
      secrets: [
        {
          name: 'api-key-hash'
          value: apiKeyHash
        }
        {
          name: 'redis-url'
          value: redisUrl
        }
        {
          name: 'runs-store'
          value: runsStore
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'weft'
          image: image
          args: [
            'serve'
          ]
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          env: [
            {
              name: 'WEFT_API_KEY_HASH'
              secretRef: 'api-key-hash'
            }
            {
              name: 'REDIS_URL'
              secretRef: 'redis-url'
            }
            {
              name: 'RUNS_STORE'
              secretRef: 'runs-store'
            }
            {
              name: 'PLANNER_PROVIDER'
              value: 'azure-openai'
            }
            {
              name: 'PLANNER_MODEL'
              value: plannerDeployment
            }
            {
              name: 'AZURE_OPENAI_ENDPOINT'
              value: openAI.properties.endpoint
            }
            {
              name: 'AZURE_OPENAI_USE_AD'
              value: 'true'
            }
            {
              // DefaultAzureCredential picks the user-assigned identity.
              name: 'AZURE_CLIENT_ID'
              value: identity.properties.clientId
            }
          ]
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 2
              failureThreshold: 30
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 5
            }
          ]
          volumeMounts: [
            {
              volumeName: 'cache'
              mountPath: '/var/cache/weft'
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'cache'
          storageType: 'EmptyDir'
        }
      ]
      scale: {
        minReplicas: 2
        maxReplicas: 10
        rules: [
          {
            name: 'http'
            http: {
              metadata: {
                concurrentRequests: '50'
              }
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    openAIUser
  ]
}

@description('The app\'s URL.')
output url string = 'https://${app.properties.configuration.ingress.fqdn}'

@description('Client id of the identity (for AZURE_CLIENT_ID elsewhere).')
output identityClientId string = identity.properties.clientId
