return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoPose.PoseService.Definition);
