# How nodes are marked, as kubeadm marks them: the control-plane label (set through the API by k8s-node-roles) and
# taint (registered by the kubelet); workers carry neither. staleTaint is what nixpkgs' `kubelet.unschedulable`
# default registered on every node before the project turned it off. Plain data, read by the modules and guards.
{
  controlPlaneLabel = "node-role.kubernetes.io/control-plane";
  controlPlaneTaint = {
    key = "node-role.kubernetes.io/control-plane";
    value = "";
    effect = "NoSchedule";
  };
  staleTaint = {
    key = "unschedulable";
    value = "true";
    effect = "NoSchedule";
  };
}
