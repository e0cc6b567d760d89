return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoPiper.PiperService.Definition);
