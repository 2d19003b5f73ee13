// Azure Cloud Services (extended support) deployment of {{ cookiecutter.service_name }}: the cloud
// service, made from the package (.cspkg) and the service configuration (.cscfg) at the given
// URLs, in a virtual network and behind a public IP address (with a DNS name) that exist
// already in the resource group, as they do for a service being updated. Azure creates no new
// Basic-SKU public IP addresses since 2025-03-31 and no new cloud services of this kind since
// April 2026, so this file creates neither; the solution's README says what a new one needs.
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

@description('The existing virtual network that ServiceConfiguration.Cloud.cscfg names in VirtualNetworkSite.')
param virtualNetworkName string

@description('The existing subnet of that network that ServiceConfiguration.Cloud.cscfg gives every role.')
param subnetName string

@description('The existing public IP address of the service\'s load balancer.')
param publicIpName string = '${cloudServiceName}-ip'

@description('The DNS label of that public IP address: the service answers at <dnsLabel>.<region>.cloudapp.azure.com. The address keeps the label it has; the deployment\'s output dnsLabelMatches says whether it is this one.')
param dnsLabel string

@description('The name of the service\'s load balancer configuration; an update must keep the name the service has.')
param loadBalancerName string = '${cloudServiceName}-lb'

@description('The name of the load balancer\'s frontend IP configuration; an update must keep the name the service has.')
param frontendIpName string = '${cloudServiceName}-frontend'

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

@description('For Remote Desktop to the instances: the user name of the RDP extension; empty for no Remote Desktop.')
param rdpUserName string = ''

@description('For Remote Desktop: that user\'s password.')
@secure()
param rdpPassword string = ''

@description('For Remote Desktop: when the user expires (UTC, yyyy-MM-ddTHH:mm:ss); by default a week after the deployment.')
param rdpExpiration string = dateTimeAdd(utcNow('u'), 'P7D', 'yyyy-MM-ddTHH:mm:ss')

@description('How an update reaches the update domains.')
@allowed([
  'Auto'
  'Manual'
  'Simultaneous'
])
param upgradeMode string = 'Auto'

resource virtualNetwork 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: virtualNetworkName
}

resource subnet 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' existing = {
  parent: virtualNetwork
  name: subnetName
}

resource publicIp 'Microsoft.Network/publicIPAddresses@2023-09-01' existing = {
  name: publicIpName
}

resource cloudService 'Microsoft.Compute/cloudServices@2024-11-04' = {
  name: cloudServiceName
  location: location
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
          name: loadBalancerName
          properties: {
            frontendIpConfigurations: [
              {
                name: frontendIpName
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
    // The service's extensions are the ones listed here: a deployment without rdpUserName
    // removes a Remote Desktop extension added by other means.
    extensionProfile: {
      extensions: empty(rdpUserName) ? [] : [
        {
          name: 'RDPExtension'
          properties: {
            publisher: 'Microsoft.Windows.Azure.Extensions'
            type: 'RDP'
            typeHandlerVersion: '1.2.1'
            autoUpgradeMinorVersion: true
            rolesAppliedTo: [
              '*'
            ]
            // The RDP extension takes its settings as XML text (the REST spec types them as
            // objects, and its description says so): & and < in the name or password are escaped.
            settings: '<PublicConfig><UserName>${replace(replace(rdpUserName, '&', '&amp;'), '<', '&lt;')}</UserName><Expiration>${rdpExpiration}</Expiration></PublicConfig>'
            protectedSettings: '<PrivateConfig><Password>${replace(replace(rdpPassword, '&', '&amp;'), '<', '&lt;')}</Password></PrivateConfig>'
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

// A deployment whose network, subnet or public IP address is missing fails, naming it.
@description('Where the service answers.')
output fqdn string = publicIp.properties.dnsSettings.fqdn

@description('Whether the public IP address has the DNS label of the parameters.')
output dnsLabelMatches bool = publicIp.properties.dnsSettings.domainNameLabel == dnsLabel

@description('The address range of the roles\' subnet.')
output subnetAddressPrefix string = subnet.properties.addressPrefix
