// A local Serverless Framework plugin (serverless.yml `plugins: - ./deploy/prune-depends-on.cjs`):
// removes from each resource's DependsOn the resources it already refers to (Ref, Fn::GetAtt,
// Fn::Sub), just before the compiled template is written.
//
// The framework adds a function's role to its DependsOn when the role is a resource of the stack,
// and serverless-step-functions does the same for a state machine's generated role; both also
// reach the role through Fn::GetAtt in Role / RoleArn, which already orders the creation.
// cfn-lint reports such entries (W3005); neither plugin has an option to leave them out. Entries
// that add an order of their own (the log group of a function, the execution guard policy of a
// state machine) are kept.
'use strict';

/** Logical ids a template fragment refers to. */
function referencedIds(node, found = new Set()) {
  if (Array.isArray(node)) {
    node.forEach((item) => referencedIds(item, found));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string') found.add(value);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(value) ? value[0] : String(value).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const template = Array.isArray(value) ? value[0] : value;
        for (const [, name] of String(template).matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) found.add(name);
      }
      referencedIds(value, found);
    }
  }
  return found;
}

function pruneDependsOn(template) {
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.DependsOn === undefined) continue;
    const referenced = referencedIds(resource.Properties);
    const kept = [].concat(resource.DependsOn).filter((id) => !referenced.has(id));
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept;
  }
}

class PruneDependsOn {
  constructor(serverless) {
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () =>
        pruneDependsOn(serverless.service.provider.compiledCloudFormationTemplate),
    };
  }
}

module.exports = PruneDependsOn;
module.exports.pruneDependsOn = pruneDependsOn;
