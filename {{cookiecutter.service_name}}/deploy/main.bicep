// Azure Cloud Services (extended support) deployment of {{ cookiecutter.service_name }}: the
// virtual network its roles run in, the public IP address (with a DNS name) of its load
// balancer, and the cloud service itself, made from the package (.cspkg) and the service
// configuration (.cscfg) at the given URLs. Deploying again updates the service in place.
//
// `python -m cloudservice deploy` uploads the two files, makes short-lived read-only URLs
// for them and runs `az deployment group create` with this file, main.parameters.json and
// those URLs. main.parameters.json holds what must agree with the service files (role
// names, VM sizes, instance counts, network names); `python -m cloudservice check`
// compares them.

@description('Name of the cloud service resource.')
param cloudServiceName string

@description('Azure region of every resource; by default the resource group\'s.')
param location string = resourceGroup().location

@description('The roles: [{name, vmSize, instanceCount}], as in ServiceDefinition.csdef (vmsize) and ServiceConfiguration.Cloud.cscfg (Instances).')
param roles array

@description('The virtual network that ServiceConfiguration.Cloud.cscfg names in VirtualNetworkSite.')
param virtualNetworkName string

@description('The subnet that ServiceConfiguration.Cloud.cscfg gives every role.')
param subnetName string

@description('Address space of the virtual network.')
param addressPrefix string = '10.0.0.0/16'

@description('Address range of the subnet.')
param subnetPrefix string = '10.0.0.0/24'

@description('Name of the public IP address of the load balancer.')
param publicIpName string = '${cloudServiceName}-ip'

@description('DNS label of the public IP address: the service answers at <label>.<region>.cloudapp.azure.com.')
param dnsLabel string

@description('URL (with a read SAS) of the service package, the .cspkg.')
@secure()
param packageUrl string

@description('URL (with a read SAS) of the service configuration, ServiceConfiguration.Cloud.cscfg.')
@secure()
param configurationUrl string

@description('For HTTPS: resource ID of the Key Vault that holds the certificates; empty for none.')
param keyVaultId string = ''

@description('The certificates that ServiceConfiguration.Cloud.cscfg gives the roles, each {thumbprint, certificateUrl}: its thumbprint there and its secret identifier in that Key Vault (https://<vault>.vault.azure.net/secrets/<name>/<version>).')
param certificates array = []

var vaultCertificates = [for certificate in certificates: {
  certificateUrl: certificate.certificateUrl
}]

@description('How an update reaches the update domains.')
@allowed([
  'Auto'
  'Manual'
  'Simultaneous'
])
param upgradeMode string = 'Auto'

resource virtualNetwork 'Microsoft.Network/virtualNetworks@2023-09-01' = {
  name: virtualNetworkName
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: subnetName
        properties: {
          addressPrefix: subnetPrefix
        }
      }
    ]
  }
}

// Cloud services take a Basic public IP address, which the retirement of Basic public IP
// addresses leaves alone for them.
resource publicIp 'Microsoft.Network/publicIPAddresses@2023-09-01' = {
  name: publicIpName
  location: location
  sku: {
    name: 'Basic'
  }
  properties: {
    publicIPAllocationMethod: 'Dynamic'
    dnsSettings: {
      domainNameLabel: dnsLabel
    }
  }
}

resource cloudService 'Microsoft.Compute/cloudServices@2022-09-04' = {
  name: cloudServiceName
  location: location
  // The .cscfg names the virtual network, so it must exist first.
  dependsOn: [
    virtualNetwork
  ]
  properties: {
    packageUrl: packageUrl
    configurationUrl: configurationUrl
    upgradeMode: upgradeMode
    roleProfile: {
      roles: [for role in roles: {
        name: role.name
        sku: {
          name: role.vmSize
          tier: 'Standard'
          capacity: role.instanceCount
        }
      }]
    }
    networkProfile: {
      loadBalancerConfigurations: [
        {
          name: '${cloudServiceName}-lb'
          properties: {
            frontendIpConfigurations: [
              {
                name: '${cloudServiceName}-frontend'
                properties: {
                  publicIPAddress: {
                    id: publicIp.id
                  }
                }
              }
            ]
          }
        }
      ]
    }
    osProfile: {
      // The certificates are installed on every instance; their thumbprints are in the .cscfg.
      secrets: empty(certificates) ? [] : [
        {
          sourceVault: {
            id: keyVaultId
          }
          vaultCertificates: vaultCertificates
        }
      ]
    }
  }
}

@description('Where the service answers.')
output fqdn string = publicIp.properties.dnsSettings.fqdn
