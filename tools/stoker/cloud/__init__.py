"""Immutable deploys to OpenStack: plan, create and rebuild a VM from its
Ignition config, keeping its server identity, addresses and data volume.

One job per module, data flowing down the list:
    placement   load_placement(vm, root) -> Placement        where a VM runs
    config      load_config(path) -> Config                  the user-data and its sha256
    diff        diff_configs(old, new) -> ConfigDiff         operator terms, secrets masked (pure)
    safety      preflight(placement, config)                 refusals before any call to the cloud
    connection  Cloud.connect(name) -> Cloud; Cloud.call     openstacksdk, retries, error wrapping
    plan        read_cloud(...) -> CloudState; make_plan(...) -> DeployPlan (steps + API calls)
    steps       the calls and waits a deploy is made of
    deploy      execute(cloud, plan, state_dir, emit) -> DeployResult
    state       state/<vm>.ign and the server metadata stoker records
    status      fleet_status(placements, cloud_for, build_dir) -> [StatusRow]
    cli         `stoker plan|deploy|status`: the only module that prints
"""
